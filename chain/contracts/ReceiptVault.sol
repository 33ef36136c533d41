// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.25;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {Authorizer} from "./Authorizer.sol";
import {Receipt, IReceiptManager} from "./Receipt.sol";
import {DEPOSIT, WITHDRAW, CERTIFY} from "./Permissions.sol";

/// Test stand-in for Rain's OffchainAssetReceiptVault: our own code with the
/// same external shape for what the issuer calls and listens to. The assets are
/// off chain, so deposit mints without pulling tokens and withdraw pays nothing.
contract ReceiptVault is ERC20, Ownable, Multicall, IReceiptManager {
    // No indexed fields, as in Rain: consumers filter by address + topic0.
    event Deposit(address sender, address owner, uint256 assets, uint256 shares, uint256 id, bytes receiptInformation);
    event Withdraw(
        address sender,
        address receiver,
        address owner,
        uint256 assets,
        uint256 shares,
        uint256 id,
        bytes receiptInformation
    );
    event Certify(address sender, uint256 certifyUntil, bool forceUntil, bytes data);
    event OwnerFreezeUntil(address owner, uint256 freezeUntil, uint256 frozenUntil);

    error CertificationExpired(address from, address to, uint256 certifiedUntil, uint256 timestamp);
    error OwnerFrozen(uint256 freezeUntil, address from, address to);
    error MinShareRatio(uint256 minShareRatio, uint256 actualShareRatio);
    error ZeroAssetsAmount();
    error ZeroCertifyUntil();
    error InvalidId(uint256 id);
    error ReceiptNotApproved(address owner, address sender);

    /// One share per asset unit, always; callers pass 1e18 as the minimum.
    uint256 public constant SHARE_RATIO = 1e18;

    Authorizer public immutable authorizer;
    Receipt private immutable _receipt;

    uint256 public highwaterId;
    uint256 public certifiedUntil;
    uint256 public ownerFrozenUntil;

    constructor(string memory name_, string memory symbol_, address owner_, Authorizer authorizer_)
        ERC20(name_, symbol_)
        Ownable(owner_)
    {
        authorizer = authorizer_;
        // The vault creates its receipt so the manager link cannot be wrong.
        _receipt = new Receipt(address(this));
    }

    function receipt() external view returns (address) {
        return address(_receipt);
    }

    function deposit(uint256 assets, address receiver, uint256 depositMinShareRatio, bytes calldata receiptInformation)
        external
        returns (uint256 shares)
    {
        address sender = _msgSender();
        authorizer.authorize(sender, DEPOSIT, "");
        if (assets == 0) revert ZeroAssetsAmount();
        if (depositMinShareRatio > SHARE_RATIO) revert MinShareRatio(depositMinShareRatio, SHARE_RATIO);
        shares = assets;
        // A fresh id per deposit; callers learn it only from the Deposit event.
        uint256 id = ++highwaterId;
        _receipt.managerMint(sender, receiver, id, shares, receiptInformation);
        _mint(receiver, shares);
        emit Deposit(sender, receiver, assets, shares, id, receiptInformation);
    }

    function redeem(uint256 shares, address receiver, address owner_, uint256 id, bytes calldata receiptInformation)
        external
        returns (uint256 assets)
    {
        _burnAgainstReceipt(shares, receiver, owner_, id, receiptInformation);
        return shares;
    }

    function withdraw(uint256 assets, address receiver, address owner_, uint256 id, bytes calldata receiptInformation)
        external
        returns (uint256 shares)
    {
        _burnAgainstReceipt(assets, receiver, owner_, id, receiptInformation);
        return assets;
    }

    /// Burns `amount` shares and `amount` of receipt `id` from `owner_`: shares
    /// can only leave the vault together with the receipt that backs them.
    function _burnAgainstReceipt(
        uint256 amount,
        address receiver,
        address owner_,
        uint256 id,
        bytes calldata receiptInformation
    ) internal {
        address sender = _msgSender();
        authorizer.authorize(sender, WITHDRAW, "");
        if (amount == 0) revert ZeroAssetsAmount();
        if (id == 0 || id > highwaterId) revert InvalidId(id);
        if (sender != owner_) {
            _spendAllowance(owner_, sender, amount);
            if (!_receipt.isApprovedForAll(owner_, sender)) revert ReceiptNotApproved(owner_, sender);
        }
        _burn(owner_, amount);
        _receipt.managerBurn(sender, owner_, id, amount, receiptInformation);
        emit Withdraw(sender, receiver, owner_, amount, amount, id, receiptInformation);
    }

    function certify(uint256 certifyUntil, bool forceUntil, bytes calldata data) external {
        authorizer.authorize(_msgSender(), CERTIFY, "");
        if (certifyUntil == 0) revert ZeroCertifyUntil();
        // Only extends unless forced, so a late, stale certification cannot shorten a newer one.
        if (forceUntil || certifyUntil > certifiedUntil) certifiedUntil = certifyUntil;
        emit Certify(_msgSender(), certifyUntil, forceUntil, data);
    }

    function isCertificationExpired() public view returns (bool) {
        return block.timestamp > certifiedUntil;
    }

    /// Extends only: a freeze is an emergency stop and must not be lifted early by mistake.
    function ownerFreezeUntil(uint256 freezeUntil) external onlyOwner {
        if (freezeUntil > ownerFrozenUntil) ownerFrozenUntil = freezeUntil;
        emit OwnerFreezeUntil(_msgSender(), freezeUntil, ownerFrozenUntil);
    }

    function authorizeReceiptTransfer(address from, address to) external view {
        _checkMovement(from, to);
    }

    function _update(address from, address to, uint256 value) internal override {
        _checkMovement(from, to);
        super._update(from, to, value);
    }

    /// One rule for shares and receipts: a freeze stops everything; a lapsed
    /// certification lets a movement through only if a handler is on either
    /// end (for mints the receiver, for burns the owner).
    function _checkMovement(address from, address to) internal view {
        uint256 frozenUntil = ownerFrozenUntil;
        if (block.timestamp < frozenUntil) revert OwnerFrozen(frozenUntil, from, to);
        if (isCertificationExpired()) {
            bool handled = (from != address(0) && authorizer.isHandler(from))
                || (to != address(0) && authorizer.isHandler(to));
            if (!handled) revert CertificationExpired(from, to, certifiedUntil, block.timestamp);
        }
    }
}
