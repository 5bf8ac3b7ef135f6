"""Timeline tests run on the real PostgreSQL, through the store test fixtures."""

from tests.store.conftest import *
