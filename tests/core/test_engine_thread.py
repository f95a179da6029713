"""The engine with a thread before the first question, and with several speakers:
read once and stored before the question, bounded, names in shared conversations only."""

from __future__ import annotations

import asyncio
from datetime import date

from core.engine import Engine, EngineConfig
from core.model.fake import ScriptedChatModel
from core.speakers import MAX_NAME_CHARS
from core.threads import EarlierMessage
from core.tokens import EstimatingCounter
from core.types import ChatMessage, ConversationRef, IncomingMessage, Persona
from tests.core.conftest import message
from tests.core.test_engine_files import Files
from tests.core.attachments import samples

DEFAULT = Persona(system_prompt="You are the default.")
THREAD = ConversationRef("test", "W1", "C1", "100.0")


class Thread:
    """A ``ThreadSource`` over messages kept in memory, counting reads."""

    def __init__(self, *messages: EarlierMessage, gate: asyncio.Event | None = None) -> None:
        self.messages = list(messages)
        self.reads: list[tuple[str, int]] = []
        self.gate = gate

    async def earlier(self, message: IncomingMessage, limit: int) -> list[EarlierMessage]:
        self.reads.append((message.event_id, limit))
        if self.gate is not None:
            await self.gate.wait()
        return self.messages[-limit:]


def said(author: str, text: str, *, bot: bool = False, files=()) -> EarlierMessage:
    return EarlierMessage(f"id-{author}", author, text, bot, "", files)


def make_engine(store, model, *, budget: int = 6000, limit: int = 50) -> Engine:
    return Engine(
        store=store, model=model,
        config=EngineConfig(default_persona=DEFAULT, model="m", context_token_budget=budget,
                            thread_context_messages=limit),
        counter=EstimatingCounter(), today=lambda: date(2026, 11, 30),
    )


async def ask(engine: Engine, text: str, thread: Thread | None, *, conversation=THREAD, user="U1",
              files: Files | None = None, **kw) -> str:
    msg = message(text, conversation=conversation, user=user, event_id=f"e-{text}", **kw)
    async with engine.reply(msg, thread=thread, files=files) as reply:
        return "".join([delta async for delta in reply])


def sent(model: ScriptedChatModel, call: int = -1) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in model.calls[call][0]]


async def test_the_thread_is_stored_once_before_the_question_with_names_in_order(memory_store):
    thread = Thread(said("Ada", "the build is red"), said("bot", "Which job?", bot=True),
                    said("Grace", "the linux one"))
    model = ScriptedChatModel(["It broke in linking.", "Yes."])
    engine = make_engine(memory_store, model)

    await ask(engine, "summarise this", thread)

    assert sent(model) == [
        ("system", "You are the default."),
        ("user", "Ada: the build is red"),
        ("assistant", "Which job?"),
        ("user", "Grace: the linux one"),
        ("user", "name-U1: summarise this"),
    ]
    turns = await memory_store.recent_turns(THREAD, 10)
    assert [(t.role, t.author_id, t.author_name) for t in turns[:3]] == [
        ("user", "id-Ada", "Ada"), ("assistant", "id-bot", "bot"), ("user", "id-Grace", "Grace")]
    assert [t.content for t in turns] == [
        "Ada: the build is red", "Which job?", "Grace: the linux one", "name-U1: summarise this", "It broke in linking."]

    # The second question finds the thread stored: the source is not asked again.
    await ask(engine, "thanks", thread, user="U2")
    assert thread.reads == [("e-summarise this", 50)]
    assert sent(model)[1:] == [
        ("user", "Ada: the build is red"), ("assistant", "Which job?"), ("user", "Grace: the linux one"),
        ("user", "name-U1: summarise this"), ("assistant", "It broke in linking."), ("user", "name-U2: thanks")]


async def test_a_conversation_with_turns_never_calls_the_source(memory_store):
    model = ScriptedChatModel(["one", "two"])
    engine = make_engine(memory_store, model)
    await ask(engine, "first", None)
    thread = Thread(said("Ada", "never read"))
    await ask(engine, "second", thread)
    assert thread.reads == []
    assert ("user", "Ada: never read") not in sent(model)


async def test_two_first_questions_at_once_read_the_thread_once(memory_store):
    gate = asyncio.Event()
    thread = Thread(said("Ada", "context"), gate=gate)
    model = ScriptedChatModel(["a", "b"])
    engine = make_engine(memory_store, model)
    first = asyncio.create_task(ask(engine, "one", thread))
    second = asyncio.create_task(ask(engine, "two", thread))
    while not thread.reads:
        await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, second)
    assert len(thread.reads) == 1
    contents = [t.content for t in await memory_store.recent_turns(THREAD, 10)]
    assert contents.count("Ada: context") == 1 and contents[0] == "Ada: context"


async def test_the_thread_is_bounded_by_the_count_and_by_half_the_budget(memory_store):
    thread = Thread(*(said("Ada", f"message {n} " + "word " * 40) for n in range(30)))
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, budget=1000, limit=20)

    await ask(engine, "summarise", thread)

    assert thread.reads == [("e-summarise", 20)]
    stored = [t for t in await memory_store.recent_turns(THREAD, 100) if t.content.startswith("Ada:")]
    # The newest that fit half the budget, none skipped in the middle, none of the first ten.
    assert 0 < len(stored) < 20
    assert sum(t.tokens + 4 for t in stored) <= 500
    numbers = [int(t.content.split()[2]) for t in stored]
    assert numbers == list(range(30 - len(stored), 30))


async def test_a_dm_stays_unprefixed_and_so_does_its_thread(memory_store):
    dm = ConversationRef("test", "", "D1", "5.0")
    thread = Thread(said("Ada", "earlier words"))
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model)
    await ask(engine, "hello", thread, conversation=dm, is_dm=True)
    assert sent(model)[1:] == [("user", "earlier words"), ("user", "hello")]


async def test_speakers_are_told_apart_and_names_kept_on_one_line(memory_store):
    model = ScriptedChatModel(["a", "b"])
    engine = make_engine(memory_store, model)
    long_name = "Ada\nLovelace " + "x" * 100
    msg = IncomingMessage(THREAD, "U1", long_name, "first", event_id="e1")
    async with engine.reply(msg) as reply:
        _ = [d async for d in reply]
    msg = IncomingMessage(THREAD, "U2", "", "second", event_id="e2")
    async with engine.reply(msg) as reply:
        _ = [d async for d in reply]
    first, _, second = [content for _, content in sent(model)[1:]]
    name = first.partition(": ")[0]
    assert name.startswith("Ada Lovelace x") and len(name) == MAX_NAME_CHARS and "\n" not in name
    assert second == "U2: second"  # no name: the id still tells the speakers apart


async def test_files_in_the_thread_are_read_like_a_questions(memory_store):
    files = Files(**{"notes.txt": b"the deploy key rotated on Monday", "shot.png": samples.png((64, 48))})
    thread = Thread(said("Ada", "see the notes", files=(files.ref("notes.txt", "text/plain"),)),
                    said("Grace", "", files=(files.ref("shot.png", "image/png"),)))
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model)

    await ask(engine, "what happened?", thread, files=files)

    messages: list[ChatMessage] = model.calls[0][0]
    assert messages[1].content.startswith("Ada: see the notes\n\n") and "the deploy key rotated" in messages[1].content
    assert messages[2].content.startswith("Grace: [image: shot.png") and len(messages[2].images) == 1
    assert files.fetched == ["shot.png", "notes.txt"]  # the newest first


async def test_a_failing_source_leaves_the_question_answered_without_it(memory_store):
    class Broken:
        async def earlier(self, message, limit):
            raise RuntimeError("the platform is down")

    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model)
    assert await ask(engine, "hi", Broken()) == "ok"  # type: ignore[arg-type]
    assert sent(model)[1:] == [("user", "name-U1: hi")]
