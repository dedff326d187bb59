"""Channel adapter tests: a shared contract plus per-channel send tests."""
