"""Spec files under tests/ are fixtures for the project's own tests, never collected as acceptance specs."""

collect_ignore_glob = ["*.spec"]
