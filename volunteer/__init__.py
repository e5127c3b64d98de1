"""Volunteers: accounts, passwords, sign-in sessions, training."""

from .accounts import Profile, authenticate, create_account, training_valid
from .exceptions import AccountError, DuplicateUsername

__all__ = ["AccountError", "DuplicateUsername", "Profile", "authenticate", "create_account",
           "training_valid"]
