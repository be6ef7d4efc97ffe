"""The inbox (站内信) pages: the worker app owns notifications, so their pages live here."""
