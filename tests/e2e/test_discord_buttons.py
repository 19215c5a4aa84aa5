"""The buttons under a clip keep working after the bot restarts (new client, new job workers,
same database): their custom_id carries the job id and they are registered at start-up."""

from __future__ import annotations

from tests.e2e.discord_kit import ALICE, BOB, World, discord_world
from tests.fakes.discord_fake import FLAG_EPHEMERAL


def buttons(message: dict) -> dict[str, dict]:
    return {
        c["custom_id"].split(":")[1] if c["custom_id"].startswith("gen:") else c["custom_id"]: c
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
        assert select["type"] == 3 and select["custom_id"] == buttons(clip)["styles"]["custom_id"].replace(
            "styles", "style"
        )
        pick = world.press(select["custom_id"], menu, ALICE, component_type=3, values=["8-bit chiptune"])
        world.dispatch(pick)
        assert (await world.followup_with_file(pick)).json["content"] == "🎵 Your 5 s 8-bit chiptune clip"
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
            assert reply.json["content"] in (
                "You have no job " + buttons(clip)[name]["custom_id"].split(":")[2] + ".",
                "You can only share your own clips.",
            )
        await world.idle()
        assert [await world.available(u) for u in (ALICE, BOB)] == [9, 10]
        assert await world.audit() == []
        world.assert_no_errors()


async def test_offer_buttons_on_a_low_balance_clip_answer_after_a_restart(sqlite_url, tmp_path) -> None:
    async with discord_world(sqlite_url, tmp_path, welcome_credits=3) as world:
        payload, _ = await first_clip(world)  # 3 − 1 = 2: low
        status = world.fake.original_message(payload["token"])
        assert "You have 2 credits left. Buy more to keep creating!" in status["content"]
        ids = [c.get("custom_id") for row in status["components"] for c in row["components"]]
        assert "offer:free" in ids and "offer:support" in ids
        await world.restart()
        free = world.press("offer:free", status, ALICE)
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
        assert status["content"] == "The music generator failed. Your 2 credits were not charged."
        await world.idle()
        assert await world.available(ALICE) == 10
        assert await world.audit() == []
        world.assert_no_errors()
