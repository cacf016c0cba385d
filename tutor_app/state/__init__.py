"""Reflex states: they hold UI fields, call services and redirect; no rules live here."""
