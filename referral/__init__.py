"""Referral: the service directory, eligibility rules, referral codes and statistics."""

from . import geography, vocab

__all__ = ["geography", "vocab"]
