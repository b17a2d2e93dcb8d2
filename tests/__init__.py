"""The test suite. The helpers in tests/support have their asserts rewritten by pytest, as the
conftest and test modules do, so that a helper's failing assert explains itself the same way."""

import pytest

pytest.register_assert_rewrite("tests.support")
