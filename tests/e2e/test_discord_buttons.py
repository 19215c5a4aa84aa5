"""The buttons under a clip keep working after the bot restarts (new client, new job workers,
same database): their custom_id carries the job id and they are registered at start-up."""

from __future__ import annotations

from tests.e2e.discord_kit import ALICE, BOB, World, action, discord_world
from tests.fakes.discord_fake import FLAG_EPHEMERAL

NAMES = {"a": "again", "o": "styles", "l": "longer", "x": "share", "c": "cancel", "f": "free", "h": "support"}


def buttons(message: dict) -> dict[str, dict]:
    """A message's buttons by what they do."""
    return {
        NAMES.get(c["custom_id"].split(":")[0], c["custom_id"]): c
        for row in message.get("components", [])
        for c in row["components"]
    }


async def first_clip(world: World, length: int = 5) -> tuple[dict, dict]:
    payload = world.generate(ALICE, length=length)
    world.dispatch(payload)
    clip = await world.followup_with_file(payload)
    await world.status_text(payload, "left")  # charged
    await world.idle()
    return payload, world.fake.messages[int(clip.response["id"])]


async def test_again_other_style_longer_and_share_work_after_a_restart(sqlite_url, tmp_path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        _, clip = await first_clip(world)  # 5 s: −1 → 9
        await world.restart()

        again = world.press(buttons(clip)["again"]["custom_id"], clip, ALICE)
        world.dispatch(again)
        assert (await world.callback(again)).json == {"type": 5, "data": {"flags": FLAG_EPHEMERAL}}
        again_clip = await world.followup_with_file(again)
        assert again_clip.json["content"] == "🎵 Your 5 s warm solo piano clip"
        await world.status_text(again, "−1 credit · 8 left")

        longer = world.press(buttons(clip)["longer"]["custom_id"], clip, ALICE)
        world.dispatch(longer)
        assert (await world.followup_with_file(longer)).json["content"] == "🎵 Your 10 s warm solo piano clip"
        await world.status_text(longer, "−2 credits · 6 left")

        menu_press = world.press(buttons(clip)["styles"]["custom_id"], clip, ALICE)
        world.dispatch(menu_press)
        await world.callback(menu_press)
        menu = world.fake.original_message(menu_press["token"])
        select = menu["components"][0]["components"][0]
        job = buttons(clip)["styles"]["custom_id"].split(":")[2]
        options = {o["label"]: o["value"] for o in select["options"]}
        assert select["type"] == 3 and select["custom_id"].startswith("menu:")
        assert options["🎸 Guitar · 1 credit"] == action("s", ALICE, job, "guitar")
        assert not any("Piano" in label for label in options)  # the clip's own style is not offered
        pick = world.press(select["custom_id"], menu, ALICE, component_type=3, values=[options["🎸 Guitar · 1 credit"]])
        world.dispatch(pick)
        assert (await world.followup_with_file(pick)).json["content"] == "🎵 Your 5 s acoustic guitar clip"
        await world.status_text(pick, "−1 credit · 5 left")

        share = world.press(buttons(clip)["share"]["custom_id"], clip, ALICE)
        world.dispatch(share)
        thanks = await world.status_text(share, "Thanks for sharing!")
        assert "+2 credits" in thanks["content"] and int(thanks["flags"]) & FLAG_EPHEMERAL
        posted = await world.followup_with_file(share)
        assert not int(posted.response["flags"]) & FLAG_EPHEMERAL  # everyone in the channel sees it
        assert posted.json["content"] == f"🎵 Made by <@{ALICE['id']}> with /generate"
        assert posted.files[0].data == world.fake.file_bytes(clip["attachments"][0]["url"])

        await world.idle()
        assert await world.available(ALICE) == 7
        assert await world.audit() == []
        world.assert_no_errors()


async def test_someone_elses_job_buttons_are_refused_without_charging_anyone(sqlite_url, tmp_path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        _, clip = await first_clip(world)
        await world.restart()
        for name in ("again", "share"):
            press = world.press(buttons(clip)[name]["custom_id"], clip, BOB)
            world.dispatch(press)
            reply = await world.webhook(press)
            assert reply.json["content"] == "This button belongs to someone else."
        # Buttons sent before actions were one string everywhere still mean what they meant,
        # for the person they were shown to only.
        job = buttons(clip)["again"]["custom_id"].split(":")[2]
        old = {**clip, "id": str(int(clip["id"]) + 1)}  # a clip sent by the version before
        old["components"] = [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Again", "custom_id": f"gen:again:{job}"}]}
        ]
        press = world.press(f"gen:again:{job}", old, BOB)
        world.dispatch(press)
        assert (await world.webhook(press)).json["content"] == f"You have no job {job}."
        await world.idle()
        assert [await world.available(u) for u in (ALICE, BOB)] == [9, 10]
        assert await world.audit() == []
        world.assert_no_errors()


async def test_offer_buttons_on_a_low_balance_clip_answer_after_a_restart(sqlite_url, tmp_path) -> None:
    async with discord_world(sqlite_url, tmp_path, welcome_credits=3) as world:
        payload, _ = await first_clip(world)  # 3 − 1 = 2: low
        offer = await world.request(
            lambda r: r.route.startswith("/webhooks/") and "Buy more" in (r.json or {}).get("content", "")
        )
        assert "You have 2 credits left. Buy more to keep creating!" in offer.json["content"]
        ids = [c.get("custom_id") for row in offer.json["components"] for c in row["components"]]
        assert action("f", ALICE) in ids and action("h", ALICE) in ids
        await world.restart()
        free = world.press(action("f", ALICE), offer.response, ALICE)
        world.dispatch(free)
        assert (await world.callback(free)).json["data"]["content"].startswith("Keep creating!")
        world.assert_no_errors()


async def test_a_job_cut_off_by_a_restart_is_answered_by_the_new_process(sqlite_url, tmp_path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        world.app.generator.extra_latency_seconds = 60.0
        payload = world.generate(ALICE, length=10)
        world.dispatch(payload)
        await world.status_text(payload, "Generating your 10 s")
        assert await world.available(ALICE) == 8  # held

        await world.restart()  # the local synthesizer forgets its predictions: the job fails
        status = await world.status_text(payload, "not charged")  # through the stored token
        assert status["content"] == "The music generator failed. Your 2 credits were not charged.\nYou have 10 credits."
        await world.idle()
        assert await world.available(ALICE) == 10
        assert await world.audit() == []
        world.assert_no_errors()
