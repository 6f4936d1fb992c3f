"""Tests: scenarios, adapters against platform doubles, and process tests."""
