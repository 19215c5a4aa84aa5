"""A person's whole journey on Discord, through the real discord.py client and CommandTree fed
raw INTERACTION_CREATE payloads, against a fake Discord REST API and the real bot (SQLite, the
local melody synthesizer): /generate with an attachment → deferred → status edits → the clip as
a follow-up → charged → /balance."""

from __future__ import annotations

import pytest

from tests.e2e.discord_kit import ALICE, CHANNEL, World, action, discord_world, identity
from tests.fakes.discord_fake import FLAG_EPHEMERAL, FLAG_LOADING


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path) as w:
        yield w


def custom_ids(message: dict) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"] if "custom_id" in c]


async def test_generate_defers_edits_its_status_delivers_the_clip_and_charges_after(
    world: World,
) -> None:
    payload = world.generate(ALICE, length=10)
    world.dispatch(payload)

    defer = await world.callback(payload)
    assert defer.json == {"type": 5, "data": {"flags": FLAG_EPHEMERAL}}  # in a server: private

    clip = await world.followup_with_file(payload)
    download = world.fake.requests_to("GET", r"/attachments/.*")
    assert len(download) == 1 and download[0].status == 200 and download[0].received_at > defer.received_at
    assert clip.status == 200
    assert clip.files[0].filename.endswith(".mp3") and clip.files[0].data[:3] in (
        b"ID3",
        b"\xff\xfb",
    )
    assert clip.json["content"] == "🎵 Your 10 s warm solo piano clip"
    job_id = clip.json["components"][0]["components"][0]["custom_id"].split(":")[2]
    assert custom_ids(clip.json) == [
        action("a", ALICE, job_id),
        action("o", ALICE, job_id),
        action("l", ALICE, job_id, 15),
        action("t", ALICE, job_id),
        action("x", ALICE, job_id),
    ]
    assert int(clip.response["flags"]) & FLAG_EPHEMERAL

    status = await world.status_text(payload, "−2 credits · 8 left")
    assert not int(status["flags"]) & FLAG_LOADING
    assert status["components"] == []  # no Cancel once done
    edits = [r.json.get("content", "") for r in world.fake.requests_to("PATCH", r"/webhooks/.*/messages/\d+")]
    assert edits[0].startswith("Welcome! You have 10 free credits.")  # first contact
    assert "2 credits held" in edits[0]
    assert any("Generating your 10 s warm solo piano clip" in e for e in edits)
    assert any("Uploading your clip" in e for e in edits)
    assert edits[-1] == "✅ Done! −2 credits · 8 left\n🎉 Achievement unlocked: First clip!"
    status_ids = {r.route.rsplit("/", 1)[1] for r in world.fake.requests_to("PATCH", r"/webhooks/.*/messages/\d+")}
    assert status_ids == {str(world.fake.original_message(payload["token"])["id"])}  # one status message, edited

    await world.idle()
    assert await world.available(ALICE) == 8
    assert await world.audit() == []
    delivered = await world.app.generation.runner.store.get(job_id)
    assert delivered is not None and delivered.delivery_ref == str(clip.response["id"])  # recorded with the capture

    balance = world.command("balance", [], ALICE)
    world.dispatch(balance)
    answer = await world.callback(balance)
    assert answer.json["data"]["flags"] == FLAG_EPHEMERAL
    assert answer.json["data"]["content"].startswith("Credits: 8 (8 free, 0 paid)")
    assert "Generations: 1 · credits spent: 2" in answer.json["data"]["content"]

    history = world.command("history", [], ALICE, guild=False)
    world.dispatch(history)
    lines = (await world.callback(history)).json["data"]["content"]
    assert "−2 music clip" in lines and "+10 welcome credits" in lines
    world.assert_no_errors()


async def test_cancel_button_releases_the_credits_and_says_so(world: World) -> None:
    world.app.generator.extra_latency_seconds = 60.0  # the model takes its time
    payload = world.generate(ALICE, length=10)
    world.dispatch(payload)
    status = await world.status_text(payload, "Generating your 10 s")
    cancel = [c for c in custom_ids(status) if c.startswith("c:")]
    assert len(cancel) == 1

    press = world.press(cancel[0], status, ALICE)
    world.dispatch(press)
    assert (await world.callback(press)).json == {"type": 5, "data": {"flags": FLAG_EPHEMERAL}}  # acknowledged
    assert (await world.webhook(press)).json["content"] == "Canceled. Your credits were not charged."
    done = await world.status_text(payload, "were not charged")
    assert done["content"] == "Canceled. Your 2 credits were not charged.\nYou have 10 credits."
    assert done["components"] == []

    await world.idle()
    assert await world.available(ALICE) == 10
    posts = world.fake.requests_to("POST", r"/webhooks/.*")  # follow-ups: only the cancel's acknowledgement
    assert [(r.route.split("/")[3], r.json["content"], r.json["flags"], r.files) for r in posts] == [
        (press["token"], "Canceled. Your credits were not charged.", FLAG_EPHEMERAL, [])  # no clip
    ]
    assert await world.audit() == []
    world.assert_no_errors()


async def test_the_same_generate_works_in_a_dm_without_ephemeral_messages(world: World) -> None:
    payload = world.generate(ALICE, guild=False, length=5)
    world.dispatch(payload)
    defer = await world.callback(payload)
    assert defer.json == {"type": 5}  # a DM is private already; ephemeral clips would vanish
    clip = await world.followup_with_file(payload)
    assert not int(clip.response["flags"]) & FLAG_EPHEMERAL
    assert not any(c.startswith("x:") for c in custom_ids(clip.json))  # nothing to share to
    await world.status_text(payload, "−1 credit · 9 left")
    await world.idle()
    assert await world.available(ALICE) == 9
    assert int(clip.response["channel_id"]) != CHANNEL
    assert await world.audit() == []
    world.assert_no_errors()
    assert identity(ALICE).key == f"discord:{ALICE['id']}"
