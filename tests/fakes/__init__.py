"""Test doubles that are real servers (Graph API fake, ...)."""
