"""The runner: pytest plugin, step library, expectation engine, CSMS harness, evidence, CLI."""
