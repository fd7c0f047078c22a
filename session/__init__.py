"""The trading day: configuration, calendar, checks, supervision, notifications."""
