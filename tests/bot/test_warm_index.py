import pytest

from bot import index_cache, services
from bot.tasks import warm_indexes
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db


def test_warming_builds_each_inbox_index_once_per_version():
    make_inbox("webchat")
    services.answer_create(title="Shipping times", text="3 to 5 days.", variants=["how long is shipping"])
    index_cache.clear()
    built = warm_indexes.call_local()
    assert built >= 1
    assert warm_indexes.call_local() == 0  # same version: nothing to rebuild
    assert index_cache.get_index(None).match("how long does shipping take")[0].answer_id
