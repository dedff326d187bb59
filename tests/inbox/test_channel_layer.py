"""The embedded channel layer (inbox/channel_layer.py): delivery across threads and event loops,
groups, capacity, and no leftovers after a receiver goes away; with Redis, an idle receive that
outlives the blocking pop."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.exceptions import ChannelFull

from inbox.channel_layer import LocalChannelLayer


def run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def test_send_and_receive_in_order():
    layer = LocalChannelLayer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "a"})
        await layer.send(channel, {"type": "b"})
        return [(await layer.receive(channel))["type"], (await layer.receive(channel))["type"]]

    assert run(scenario()) == ["a", "b"]


def test_group_send_reaches_members_only():
    layer = LocalChannelLayer()

    async def scenario():
        member, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("inbox-1", member)
        await layer.group_send("inbox-1", {"type": "x"})
        got = await asyncio.wait_for(layer.receive(member), 2)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(other), 0.05)
        await layer.group_discard("inbox-1", member)
        assert layer.group_send_now("inbox-1", {"type": "y"}) == 0
        return got

    assert run(scenario())["type"] == "x"


def test_send_from_another_thread_wakes_the_receiving_loop():
    """A worker thread sends while a consumer's loop is blocked in receive(): the message
    arrives without the loop having anything else to do (the stock layer left it waiting)."""
    layer = LocalChannelLayer()
    received = []

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("conversation-7", channel)
        threading.Timer(0.05, layer.group_send_now, args=("conversation-7", {"type": "late"})).start()
        received.append(await asyncio.wait_for(layer.receive(channel), 5))

    run(scenario())
    assert received == [{"type": "late"}]


def test_many_threads_and_loops_at_once_lose_nothing():
    layer = LocalChannelLayer(capacity=10_000)
    loop = asyncio.new_event_loop()
    channels = [loop.run_until_complete(layer.new_channel()) for _ in range(20)]
    for channel in channels:
        loop.run_until_complete(layer.group_add("inbox-1", channel))
    errors = []

    def sender(n):
        try:
            for i in range(100):
                if n % 2:
                    layer.group_send_now("inbox-1", {"type": "m", "n": n, "i": i})
                else:  # the async API from this thread's own event loop
                    asyncio.run(layer.group_send("inbox-1", {"type": "m", "n": n, "i": i}))
                # Groups change meanwhile (other sockets come and go).
                asyncio.run(layer.group_add(f"g-{n}-{i}", channels[0]))
                asyncio.run(layer.group_discard(f"g-{n}-{i}", channels[0]))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def drain(channel):
        return [await layer.receive(channel) for _ in range(800)]

    assert errors == []
    for channel in channels:
        got = loop.run_until_complete(asyncio.wait_for(drain(channel), 10))
        assert sorted((m["n"], m["i"]) for m in got) == sorted((n, i) for n in range(8) for i in range(100))


def test_capacity():
    layer = LocalChannelLayer(capacity=2)

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        assert layer.group_send_now("g", {"type": "1"}) == 1
        assert layer.group_send_now("g", {"type": "2"}) == 1
        assert layer.group_send_now("g", {"type": "3"}) == 0  # full: skipped, not raised
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "4"})

    run(scenario())


def test_a_receiver_that_goes_away_leaves_no_mailbox():
    layer = LocalChannelLayer()

    async def scenario():
        channel = await layer.new_channel()
        task = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return layer.stats()

    assert run(scenario())["channels"] == 0


def test_the_embedded_default_uses_it(settings):
    from django.conf import settings as django_settings

    if django_settings.CHANNEL_LAYERS["default"]["BACKEND"] != "inbox.channel_layer.LocalChannelLayer":
        pytest.skip("REDIS_URL is set: the Redis layer is configured")
    from channels.layers import get_channel_layer

    assert isinstance(get_channel_layer(), LocalChannelLayer)


def test_an_idle_redis_receive_survives_the_blocking_pop_timeout():
    """With Redis, an idle socket's receive outlives channels_redis's 5 s BZPOPMIN and
    redis-py's default 5 s socket timeout (which once killed idle consumers with TimeoutError),
    then still gets the message."""
    from django.conf import settings as django_settings

    if django_settings.CHANNEL_LAYERS["default"]["BACKEND"] != "channels_redis.core.RedisChannelLayer":
        pytest.skip("needs the Redis layer (REDIS_URL)")
    from channels.layers import get_channel_layer

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        task = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(6.5)  # idle for longer than both 5 s timeouts
        assert not task.done(), task.exception() if task.done() else None
        await layer.send(channel, {"type": "inbox.event", "event": "ping"})
        message = await asyncio.wait_for(task, 10)
        await layer.flush()
        return message

    assert run(scenario())["event"] == "ping"


def test_broadcasts_from_sync_threads_reuse_one_redis_connection(settings):
    """``events.send_event`` from threads outside an event loop (the pumps, worker tasks) runs
    on the process's send loop, so channels_redis keeps its connection: ``async_to_sync`` ran
    each call in a new loop and opened (and closed) a Redis connection per broadcast."""
    from django.conf import settings as django_settings

    if django_settings.CHANNEL_LAYERS["default"]["BACKEND"] != "channels_redis.core.RedisChannelLayer":
        pytest.skip("needs the Redis layer (REDIS_URL)")
    import redis
    from channels.layers import get_channel_layer

    from inbox import events

    settings.LIVE_EVENT_TIMING = False
    layer = get_channel_layer()
    received = []

    async def listen(channel):
        for _ in range(6):
            received.append((await asyncio.wait_for(layer.receive(channel), 10))["data"]["n"])

    async def member():
        channel = await layer.new_channel()
        await layer.group_add("inbox-reuse", channel)
        return channel

    channel = run(member())
    stats = redis.Redis.from_url(django_settings.REDIS_URL)
    before = stats.info("stats")["total_connections_received"]

    def send(n):
        events.send_event(["inbox-reuse"], "message.created", {"n": n})

    for start in (0, 3):  # two threads one after the other, three events each
        thread = threading.Thread(target=lambda s=start: [send(n) for n in range(s, s + 3)])
        thread.start()
        thread.join(10)
    opened = stats.info("stats")["total_connections_received"] - before
    run(listen(channel))
    assert received == [0, 1, 2, 3, 4, 5]  # all of them, in order
    assert opened <= 1, f"{opened} Redis connections for 6 broadcasts"
