"""The API server fixture of tests/api, for the hostile-input and access tests here."""

from tests.api.conftest import api  # noqa: F401 (a fixture, found by pytest by name)
