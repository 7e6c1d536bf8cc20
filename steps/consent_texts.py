"""What each scope and claim means in plain words, as the consent page lists them (message ids)."""

from __future__ import annotations

from core import N_

SCOPE_DESCRIPTIONS = {
    "openid": N_("Know who you are (your account identifier)"),
    "profile": N_("Your name and profile details"),
    "email": N_("Your email address"),
    "address": N_("Your postal address"),
    "phone": N_("Your phone number"),
    "groups": N_("The groups you belong to"),
    "offline_access": N_("Stay connected when you are not using it (a long-lived refresh token)"),
}

CLAIM_DESCRIPTIONS = {
    "name": N_("Full name"),
    "given_name": N_("First name"),
    "family_name": N_("Last name"),
    "nickname": N_("Nickname"),
    "preferred_username": N_("Username"),
    "picture": N_("Profile picture"),
    "birthdate": N_("Date of birth"),
    "email": N_("Email address"),
    "phone_number": N_("Phone number"),
    "address": N_("Postal address"),
}
