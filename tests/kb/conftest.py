import pytest


@pytest.fixture
def refund_article(publish):
    """An English article about refunds that never says "rebate" (what search learns, or is
    told by a synonym)."""
    return publish(
        title="When will I get my refund?",
        slug="refund-times",
        summary="How long refunds take.",
        body="We send the money back to the card you paid with within 10 days.",
        language="en",
        translation_key="refund-times",
    )
