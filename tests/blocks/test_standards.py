"""Prefect's standard block checks, over every block type the project registers."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from blocks import block_types


class TestEveryBlock(BlockStandardTestSuite):
    @pytest.fixture(params=block_types(), ids=lambda block: block.__name__)
    def block(self, request: pytest.FixtureRequest) -> type[Block]:
        return request.param

    @pytest.mark.skip(reason="downloads each logo from the internet; tests never leave loopback")
    def test_has_a_valid_image(self, block: type[Block]) -> None:
        """Skipped: Prefect's check fetches ``_logo_url`` over the network."""
