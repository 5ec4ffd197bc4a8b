"""The suite's own opt-in to the package's pytest plugin, as a user's conftest would do it."""

pytest_plugins = ["langchain_glm.testing.pytest_plugin"]
