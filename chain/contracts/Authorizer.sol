// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.25;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {DEPOSIT, WITHDRAW, CERTIFY, Unauthorized} from "./Permissions.sol";

/// Role registry the vault asks before privileged actions. Kept apart from the
/// vault (as Rain does) so permissions can be managed without touching tokens.
contract Authorizer is AccessControl {
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// Reverts instead of returning false, so the vault cannot forget a check.
    function authorize(address user, bytes32 permission, bytes calldata data) external view {
        if (!hasRole(permission, user)) revert Unauthorized(user, permission, data);
    }

    /// Handlers may still move tokens while certification has lapsed.
    function isHandler(address user) external view returns (bool) {
        return hasRole(DEPOSIT, user) || hasRole(WITHDRAW, user) || hasRole(CERTIFY, user);
    }
}
