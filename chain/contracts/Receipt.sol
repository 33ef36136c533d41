// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.25;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// What the receipt asks its vault before any receipt moves, so freeze and
/// certification rules apply to receipts exactly as to shares.
interface IReceiptManager {
    function authorizeReceiptTransfer(address from, address to) external view;
}

/// ERC-1155 receipts, one id per vault deposit. Only the vault mints and burns,
/// so receipt id K always backs exactly the shares minted with it.
contract Receipt is ERC1155 {
    event ReceiptInformation(address sender, uint256 id, bytes information);

    error OnlyManager(address caller);

    address public immutable manager;

    constructor(address manager_) ERC1155("") {
        manager = manager_;
    }

    modifier onlyManager() {
        if (msg.sender != manager) revert OnlyManager(msg.sender);
        _;
    }

    function managerMint(address sender, address account, uint256 id, uint256 amount, bytes calldata information)
        external
        onlyManager
    {
        _mint(account, id, amount, "");
        _receiptInformation(sender, id, information);
    }

    function managerBurn(address sender, address account, uint256 id, uint256 amount, bytes calldata information)
        external
        onlyManager
    {
        _burn(account, id, amount);
        _receiptInformation(sender, id, information);
    }

    function _receiptInformation(address sender, uint256 id, bytes calldata information) internal {
        // Empty information is not worth a log (Rain behaves the same way).
        if (information.length > 0) emit ReceiptInformation(sender, id, information);
    }

    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        IReceiptManager(manager).authorizeReceiptTransfer(from, to);
        super._update(from, to, ids, values);
    }
}
