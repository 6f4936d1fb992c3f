"""Pure functions on Chinese text: intent, fields, dates, phones, expert matching."""
