"""The contract's controlled vocabularies (contract.md "Vocabularies").

Everything a record or a frame may carry is a word from one of these sets: no
free text ever reaches the de-identified record.
"""

from __future__ import annotations

from chat.kernel import languages

GENDERS = ("girl", "boy", "nonbinary", "not_stated")
ROLES = ("exposed", "uses_violence", "both", "friend_relative", "professional", "other")
VIOLENCE = ("physical", "psychological", "sexual", "digital", "economic", "honour")
SERVICE_KINDS = (
    "counselling", "rvc", "stodcentrum", "victim_support", "social_services",
    "youth_clinic", "perpetrator_programme", "womens_shelter", "emergency",
)
FIRST_CONTACT = ("yes", "no", "not_stated")
# How a chat ended, as the record keeps it (domain.md "The de-identified record").
OUTCOMES = ("completed", "left_queued", "visitor_left", "dropped", "closed")
# Contacts a volunteer marks as not real conversations: counted for volume only.
NON_DATA = ("test", "silent", "prank", "abusive")
ENDED_BY = ("visitor", "volunteer", "timeout", "supervisor")
# The chat languages (chat.kernel.languages has their names, direction and translation status).
LANGUAGES = languages.CODES
# Languages a service in the referral directory may list as spoken (its ``languages``), as the
# directory editor offers them: the chat languages first, then others common in Stockholm County.
# The directory itself takes any ISO 639-1 code; these are the ones with labels.
SERVICE_LANGUAGES = LANGUAGES + ("tr", "ku", "fi", "pl", "ru", "es", "de", "fr")
# A volunteer's skills (contract "Topic and specialists"): topics and forms of violence
# they are trained to talk about; a chat whose intake topic is one of them is routed to them.
SKILLS = tuple(dict.fromkeys(ROLES + VIOLENCE))
