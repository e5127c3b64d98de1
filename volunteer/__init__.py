"""Volunteers: accounts, passwords, sign-in sessions, training."""

from .accounts import Profile, authenticate, create_account, training_valid
from .exceptions import AccountError, DuplicateUsername, HoursError
from .hours import Schedule, is_open, next_open

__all__ = ["AccountError", "DuplicateUsername", "HoursError", "Profile", "Schedule", "authenticate",
           "create_account", "is_open", "next_open", "training_valid"]
