"""Referral: the service directory, eligibility rules and referral codes; the statistics are ``referral.stats``."""

from . import geography, vocab

__all__ = ["geography", "vocab"]
