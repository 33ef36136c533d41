// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.25;

// Role ids shared by the authorizer and the vault; keccak256 of the name so
// off-chain code can derive them without reading the contract.
bytes32 constant DEPOSIT = keccak256("DEPOSIT");
bytes32 constant WITHDRAW = keccak256("WITHDRAW");
bytes32 constant CERTIFY = keccak256("CERTIFY");

// Same shape as Rain's IAuthorizeV1 error, so one decoder serves both vaults.
error Unauthorized(address user, bytes32 permission, bytes data);
