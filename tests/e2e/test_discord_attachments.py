"""What people attach, and where the clip goes: oversized and non-audio attachments are refused
before any credit is held; a clip over the interaction's upload limit becomes a link; a clip
finished after the follow-up window reaches the person's DMs."""

from __future__ import annotations

import pytest

from tests.audio_samples import garbage_bytes, png_bytes
from tests.e2e.discord_kit import ALICE, World, discord_world, identity
from tests.fakes.discord_fake import FLAG_EPHEMERAL


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path) as w:
        yield w


async def refused(world: World, payload: dict) -> str:
    world.dispatch(payload)
    answer = await world.webhook(payload)
    assert int(answer.response["flags"]) & FLAG_EPHEMERAL
    return str(answer.json["content"])


async def nothing_held(world: World) -> None:
    assert await world.available(ALICE) == 10
    assert await world.app.generation.jobs(identity(ALICE)) == []
    assert await world.audit() == []


async def test_an_oversized_attachment_is_refused_on_its_size_before_download_or_hold(
    world: World,
) -> None:
    payload = world.generate(ALICE)
    attachment = next(iter(payload["data"]["resolved"]["attachments"].values()))
    attachment["size"] = 25 * 1024 * 1024  # a 25 MB upload (Nitro users can attach that much)
    text = await refused(world, payload)
    assert text == "That file is too big (26.2 MB); the limit is 20 MB."
    assert world.fake.requests_to("GET", r"/attachments/.*") == []  # never downloaded
    await nothing_held(world)
    world.assert_no_errors()


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (png_bytes(), "cover.png", "That file has no sound in it."),
        (garbage_bytes(), "voice.ogg", "That file isn't audio I can read"),
        (b"", "empty.ogg", "That file is empty."),
    ],
)
async def test_a_non_audio_attachment_is_refused_before_any_credit_is_held(world, data, filename, expected) -> None:
    text = await refused(world, world.generate(ALICE, audio=data, filename=filename))
    assert text.startswith(expected)
    await nothing_held(world)
    world.assert_no_errors()


async def test_bad_lengths_and_blocked_styles_are_refused_too(world: World) -> None:
    forged_length = await refused(world, world.generate(ALICE, length=7))  # not one of the choices
    assert forged_length == "Pick a length of 5, 10, 15, 30 seconds."
    artist = await refused(world, world.generate(ALICE, style="in the style of Taylor Swift"))
    assert artist.startswith("Styles can't name artists or songs")
    await nothing_held(world)
    world.assert_no_errors()


async def test_a_clip_over_the_upload_limit_is_delivered_as_a_link(world: World) -> None:
    payload = world.generate(ALICE, length=5, attachment_size_limit=20_000)  # smaller than any clip
    world.dispatch(payload)
    status = await world.status_text(payload, "−1 credit · 9 left")
    links = [r for r in world.fake.requests_to("POST", r"/webhooks/.*") if payload["token"] in r.route]
    assert len(links) == 1 and not links[0].files
    assert "is too big to upload here. Download it" in links[0].json["content"]
    url = links[0].json["content"].rsplit(" ", 1)[1]
    name = url.rsplit("/", 1)[1]
    served = await world.platform.clips.fetch(name)
    assert served is not None and served[1] == "audio/mpeg" and len(served[0]) > 20_000
    assert status["components"] == []
    await world.idle()
    assert await world.audit() == []
    world.assert_no_errors()


async def test_without_a_web_server_an_oversized_clip_is_not_charged(world: World) -> None:
    world.platform.jobs.clips = None  # no public web server to link from
    payload = world.generate(ALICE, length=5, attachment_size_limit=20_000)
    world.dispatch(payload)
    status = await world.status_text(payload, "not charged")
    assert status["content"] == (
        "The clip was made but I couldn't send it to you. Your 1 credit was not charged.\nYou have 10 credits."
    )
    await world.idle()
    await nothing_held(world)


async def test_a_clip_finished_after_the_follow_up_window_goes_to_the_dms(world: World) -> None:
    world.app.generator.extra_latency_seconds = 1.0  # the model takes a moment...
    payload = world.generate(ALICE, length=5)
    world.dispatch(payload)
    await world.status_text(payload, "Generating")
    world.fake.expire_interaction(payload["token"])  # ...and the 15 minutes are over meanwhile

    posted = await world.request(lambda r: r.is_("POST", r"/channels/\d+/messages") and bool(r.files))
    dm = world.fake.dm_channels[int(ALICE["id"])]
    assert posted.route == f"/channels/{dm['id']}/messages" and posted.status == 200
    assert posted.json["content"] == f"<@{ALICE['id']}> 🎵 Your 5 s warm solo piano clip"
    outcome = await world.request(
        lambda r: r.is_("POST", rf"/channels/{dm['id']}/messages") and "left" in (r.json or {}).get("content", "")
    )
    assert outcome.json["content"] == "✅ Done! −1 credit · 9 left\n🎉 Achievement unlocked: First clip!"
    await world.idle()
    assert await world.available(ALICE) == 9
    assert await world.audit() == []
    world.assert_no_errors()


async def test_an_upload_discord_refuses_as_too_large_falls_back_to_a_link(world: World) -> None:
    payload = world.generate(ALICE, length=5)
    world.fake.fail(
        "POST",
        rf"/webhooks/\d+/{payload['token']}",
        413,
        {"message": "Request entity too large", "code": 40005},
    )
    world.dispatch(payload)
    await world.status_text(payload, "−1 credit · 9 left")
    sent = [r for r in world.fake.requests_to("POST", r"/webhooks/.*") if payload["token"] in r.route]
    assert [r.status for r in sent] == [413, 200]
    assert "Download it" in sent[1].json["content"] and not sent[1].files
    await world.idle()
    assert await world.audit() == []
    world.assert_no_errors()


def too_large_once(world: World, payload: dict) -> None:
    world.fake.fail(
        "POST", rf"/webhooks/\d+/{payload['token']}", 413, {"message": "Request entity too large", "code": 40005}
    )


async def test_the_link_after_a_too_large_refusal_stays_private_in_a_server(world: World) -> None:
    payload = world.generate(ALICE, length=5)  # in a server: the clip is for Alice's eyes only
    too_large_once(world, payload)
    world.dispatch(payload)
    await world.status_text(payload, "−1 credit · 9 left")
    sent = [r for r in world.fake.requests_to("POST", r"/webhooks/.*") if payload["token"] in r.route]
    assert [r.status for r in sent] == [413, 200]
    assert int(sent[1].json.get("flags", 0)) & FLAG_EPHEMERAL  # not posted for the whole channel
    await world.idle()
    world.assert_no_errors()


async def test_a_link_refused_for_an_expired_token_goes_to_the_dms(world: World) -> None:
    payload = world.generate(ALICE, length=5)
    too_large_once(world, payload)
    world.fake.fail(
        "POST", rf"/webhooks/\d+/{payload['token']}", 401, {"message": "Invalid Webhook Token", "code": 50027}
    )
    world.dispatch(payload)
    dm = world.fake.dm_channels
    posted = await world.request(
        lambda r: r.is_("POST", r"/channels/\d+/messages") and "Download it" in (r.json or {}).get("content", "")
    )
    assert posted.route == f"/channels/{dm[int(ALICE['id'])]['id']}/messages" and posted.status == 200
    assert posted.json["content"].startswith("🎵 Your 5 s warm solo piano clip is too big to upload here.")
    await world.idle()
    assert await world.available(ALICE) == 9
    assert await world.audit() == []
    world.assert_no_errors()
