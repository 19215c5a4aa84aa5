"""Progress, written once: `/progress` (the daily streak as a text bar, clips made, every
achievement earned or still open), the streak's line in /balance, and the short notice that
celebrates each new achievement or streak bonus (after /daily, a share, a delivered clip, or
when /progress itself finds one)."""

from __future__ import annotations

from adapters.chat.catalogue import plural
from adapters.chat.commands import Command, Menu
from adapters.chat.messages import Reply, Request
from adapters.chat.words import Words
from core.domain.jobs import Job
from core.domain.progress import ACHIEVEMENTS, STREAK_GOAL, ProgressResult, Streak
from core.services.progress import ProgressService

FULL, EMPTY = "▰", "▱"


def progress_bar(done: int, goal: int = STREAK_GOAL) -> str:
    """`▰▰▰▱▱▱▱` for 3 of 7."""
    done = min(max(done, 0), goal)
    return FULL * done + EMPTY * (goal - done)


class ProgressWords:
    """The words of progress, for a request or (no request at hand) a locale."""

    def __init__(self, words: Words) -> None:
        self.words = words

    def streak(self, request: Request | str | None, streak: Streak, key: str = "progress_streak") -> str:
        total = ""
        if streak.days > STREAK_GOAL:
            total = self.words.t(request, "progress_streak_total", days=streak.days)
        return self.words.t(
            request,
            key,
            bar=progress_bar(streak.toward_goal),
            toward=streak.toward_goal,
            goal=STREAK_GOAL,
            total_part=total,
        )

    def celebration(self, request: Request | str | None, result: ProgressResult) -> str:
        """One line per new achievement or streak bonus; empty when there is none."""
        lines = []
        for award in result.awards:
            credits = ""
            if award.credits:
                n = award.credits
                credits = self.words.t(request, "achievement_credits", credits=n, plural=plural(n))
            if award.achievement is None:
                days = result.snapshot.streak.days
                lines.append(self.words.t(request, "streak_bonus_new", days=days, credits_part=credits))
            else:
                name = self.words.t(request, f"achievement.{award.achievement}")
                lines.append(self.words.t(request, "achievement_new", name=name, credits_part=credits))
        return "\n".join(lines)


class ProgressChat:
    def __init__(self, words: Words, progress: ProgressService) -> None:
        self.words = words
        self.progress = progress
        self.texts = ProgressWords(words)

    def commands(self) -> list[Command]:
        return [Command("progress", self.show, menu=Menu.PRIVATE)]

    async def show(self, request: Request) -> Reply:
        """The streak, clips made and every achievement; what was reached since is awarded
        (and celebrated) first."""
        view = await self.progress.view(request.identity)
        t = self.words.t
        lines = []
        new = self.texts.celebration(request, view.result)
        if new:
            lines += [new, ""]
        lines.append(t(request, "progress_header"))
        lines.append(self.texts.streak(request, view.streak))
        if view.streak.days == 0:
            lines.append(t(request, "progress_streak_start"))
        elif not view.streak.active_today:
            lines.append(t(request, "progress_streak_keep"))
        lines.append(t(request, "progress_clips", clips=view.clips))
        lines.append(t(request, "progress_achievements", earned=len(view.earned), total=len(ACHIEVEMENTS)))
        for achievement, earned in view.achievements:
            key = "progress_achievement_earned" if earned else "progress_achievement_open"
            lines.append(t(request, key, name=t(request, f"achievement.{achievement}")))
        return Reply("\n".join(lines), private=True)

    async def balance_line(self, request: Request) -> str:
        """The streak in one line, for /balance."""
        return self.texts.streak(request, await self.progress.streak(request.identity), key="balance_streak")

    async def after_clip(self, job: Job, locale: str | None) -> str:
        """What a delivered (and charged) clip achieved, awarded now, in words."""
        return self.texts.celebration(locale, await self.progress.after_clip(job.person_id))

    async def after(self, request: Request) -> str:
        """Award what a reward just reached, in words (empty when nothing new)."""
        return self.texts.celebration(request, await self.progress.check(request.identity))
