"""The engine with files: what the model is sent, what memory keeps, what the user is told."""

from __future__ import annotations

import base64
import subprocess
import sys
import io
from datetime import date

import pytest
from PIL import Image

from core.attachments import IncomingFile
from core.engine import Engine, EngineConfig
from core.image_memory import IMAGES_REFUSED, FilePolicy
from core.errors import AttachmentRefused, ModelUnavailableError, RequestRejectedError
from core.model.fake import ScriptedChatModel
from core.tokens import EstimatingCounter
from core.types import ChatMessage, FileRef, Persona
from tests.core.attachments import samples
from tests.core.conftest import CHANNEL, message

DEFAULT = Persona(system_prompt="You are the default.")


class Files:
    """A ``FileSource`` over files kept in memory, counting fetches."""

    def __init__(self, **files: bytes) -> None:
        self.files = files
        self.fetched: list[str] = []

    def ref(self, name: str, mime_type: str = "") -> FileRef:
        return FileRef(name, mime_type, len(self.files[name]), f"mem://{name}")

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        self.fetched.append(ref.name)
        if ref.name not in self.files:
            raise AttachmentRefused("the platform said no")
        return IncomingFile(ref.name, ref.mime_type, self.files[ref.name])


def make_engine(store, model, **files) -> Engine:
    budget = files.pop("context_token_budget", 6000)
    return Engine(
        store=store,
        model=model,
        config=EngineConfig(default_persona=DEFAULT, model="m", context_token_budget=budget,
                            files=FilePolicy(**files)),
        counter=EstimatingCounter(),
        today=lambda: date(2026, 11, 30),
    )


async def ask(engine: Engine, source: Files, text: str, *names: str) -> str:
    msg = message(text, files=tuple(source.ref(name) for name in names), event_id=f"e-{text}")
    async with engine.reply(msg, files=source) as reply:
        return "".join([delta async for delta in reply])


def decoded(data_url: str) -> Image.Image:
    head, payload = data_url.split(",", 1)
    assert head in ("data:image/png;base64", "data:image/jpeg;base64")
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def question(model: ScriptedChatModel, call: int = -1) -> ChatMessage:
    return model.calls[call][0][-1]


async def test_an_image_goes_to_the_model_scaled_down_and_is_stored_with_its_turn(memory_store):
    source = Files(**{"shot.png": samples.png((3000, 1500))})
    model = ScriptedChatModel(["I see a blue box."])
    engine = make_engine(memory_store, model)
    assert await ask(engine, source, "what is this?", "shot.png") == "I see a blue box."

    sent = question(model)
    assert sent.content.startswith("name-U1: what is this?") and "[image: shot.png, 1568×784]" in sent.content
    (image,) = sent.images
    assert decoded(image.data_url).size == (1568, 784) and image.tokens > 85
    user, _ = await memory_store.recent_turns(CHANNEL, 10)
    assert user.content == sent.content and [ref.name for ref in user.images] == ["shot.png"]
    assert user.tokens == EstimatingCounter().count(sent.content) + image.tokens
    stored = await memory_store.image_data([user.id])
    assert decoded("data:image/png;base64," + base64.b64encode(stored[user.id, 0]).decode()).size == (1568, 784)


async def test_text_files_and_pdfs_are_read_into_the_question_and_remembered(memory_store):
    source = Files(**{"tool.py": b"def answer():\n    return 42\n",
                      "report.pdf": samples.pdf([["Quarterly revenue rose 12 percent"]])})
    model = ScriptedChatModel(["ok", "still ok"])
    engine = make_engine(memory_store, model)
    await ask(engine, source, "review these", "tool.py", "report.pdf")
    content = question(model).content
    assert "[file: tool.py, text," in content and "return 42" in content
    assert "[file: report.pdf, PDF, 1 page]" in content and "revenue rose 12 percent" in content

    await ask(engine, source, "and what did the function return?")
    history = model.calls[1][0]
    assert any("return 42" in m.content for m in history[:-1]), "the follow-up sees the file"
    assert source.fetched == ["tool.py", "report.pdf"], "files are fetched once, then remembered"


async def test_without_vision_the_image_is_named_and_the_user_told_first(memory_store):
    source = Files(**{"cat.png": samples.png((640, 480))})
    model = ScriptedChatModel(["A cat, probably."])
    engine = make_engine(memory_store, model, vision=False)
    msg = message("look", files=(source.ref("cat.png"),), event_id="e1")
    async with engine.reply(msg, files=source) as reply:
        deltas = [delta async for delta in reply]
    assert deltas[0].startswith("Note: The model here can't see images") and "cat.png" in deltas[0]
    assert reply.text.endswith("\n\nA cat, probably.")
    assert question(model).images == () and "[image: cat.png, 640×480]" in question(model).content
    _, stored_reply = await memory_store.recent_turns(CHANNEL, 10)
    assert stored_reply.content == "A cat, probably.", "the notice is not the model's answer"


async def test_a_persona_without_vision_overrides_the_global_default(memory_store):
    await memory_store.set_persona(CHANNEL.channel_ref, Persona("text only", vision=False), "U", "u")
    source = Files(**{"cat.png": samples.png((64, 64))})
    model = ScriptedChatModel(["ok"])
    await ask(make_engine(memory_store, model, vision=True), source, "look", "cat.png")
    assert question(model).images == ()


async def test_an_image_is_seen_by_the_next_questions_then_only_named(memory_store):
    source = Files(**{"shot.png": samples.png((100, 80))})
    model = ScriptedChatModel(lambda messages, params: "ok")
    engine = make_engine(memory_store, model, image_memory_turns=2)
    await ask(engine, source, "q0", "shot.png")
    for text in ("q1", "q2", "q3"):
        await ask(engine, source, text)
    seen = [sum(len(m.images) for m in call[0]) for call in model.calls]
    assert seen == [1, 1, 1, 0]
    # Still named in the turn's text, and its reference kept; its bytes are gone.
    last = model.calls[3][0]
    assert any("[image: shot.png, 100×80]" in m.content for m in last)
    first = (await memory_store.recent_turns(CHANNEL, 10))[0]
    assert first.images and await memory_store.image_data([first.id]) == {}


async def test_with_store_images_the_bytes_stay(memory_store):
    source = Files(**{"shot.png": samples.png((100, 80))})
    model = ScriptedChatModel(lambda messages, params: "ok")
    engine = make_engine(memory_store, model, image_memory_turns=1, store_images=True)
    await ask(engine, source, "q0", "shot.png")
    for text in ("q1", "q2", "q3"):
        await ask(engine, source, text)
    assert [sum(len(m.images) for m in call[0]) for call in model.calls] == [1, 1, 1, 1]
    first = (await memory_store.recent_turns(CHANNEL, 10))[0]
    assert len(await memory_store.image_data([first.id])) == 1


async def test_a_model_that_refuses_images_answers_without_them_and_the_user_is_told(memory_store):
    source = Files(**{"shot.png": samples.png((64, 64))})
    model = ScriptedChatModel([RequestRejectedError("HTTP 400: image_url is not supported"),
                               "Without the image: no idea.",
                               RequestRejectedError("HTTP 400: bad temperature")])
    engine = make_engine(memory_store, model)
    text = await ask(engine, source, "look", "shot.png")
    assert text == IMAGES_REFUSED + "Without the image: no idea."
    retried = question(model)
    assert retried.images == () and "[image: shot.png, 64×64]" in retried.content
    _, reply = await memory_store.recent_turns(CHANNEL, 10)
    assert reply.content == "Without the image: no idea."
    # A refusal of a request without images is the model's error, as before.
    with pytest.raises(RequestRejectedError):
        await ask(make_engine(memory_store, model, vision=False), source, "no image here")


async def test_long_files_fit_the_context_budget_with_a_visible_note(memory_store):
    source = Files(**{"big.log": ("line of a log\n" * 20_000).encode()})
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, context_token_budget=2000)
    msg = message("why?", files=(source.ref("big.log"),), event_id="e1")
    async with engine.reply(msg, files=source) as reply:
        text = "".join([delta async for delta in reply])
    assert "Only the start of these files fit" in text and "big.log" in text
    sent = question(model).content
    assert "[… truncated:" in sent
    assert EstimatingCounter().count(sent) < 2000


async def test_a_file_the_platform_refuses_is_named_and_the_rest_answered(memory_store):
    source = Files(**{"ok.txt": b"fine"})
    model = ScriptedChatModel(["answered"])
    engine = make_engine(memory_store, model)
    refused = FileRef("secret.txt", "text/plain", 10, "mem://secret.txt")
    msg = message("read both", files=(refused, source.ref("ok.txt")), event_id="e1")
    async with engine.reply(msg, files=source) as reply:
        text = "".join([delta async for delta in reply])
    assert "Note: I couldn't read secret.txt (the platform said no)." in text
    assert text.endswith("answered")
    assert "not readable: the platform said no" in question(model).content
    assert "fine" in question(model).content


async def test_a_resumed_answer_sends_the_stored_question_with_its_images(memory_store):
    source = Files(**{"shot.png": samples.png((120, 90))})
    failing = ScriptedChatModel([ModelUnavailableError("down")])
    msg = message("look", files=(source.ref("shot.png"),), event_id="e1")
    with pytest.raises(ModelUnavailableError):
        async with make_engine(memory_store, failing).reply(msg, files=source) as reply:
            [delta async for delta in reply]
    model = ScriptedChatModel(["now I see it"])
    engine = make_engine(memory_store, model)
    async with engine.reply(msg, resumed=True, files=source) as reply:
        assert "".join([delta async for delta in reply]) == "now I see it"
    assert source.fetched == ["shot.png"], "the stored question is used, not fetched again"
    assert len(question(model).images) == 1 and question(model).content.startswith("name-U1: look")


async def test_a_resumed_answer_whose_question_was_never_stored_fetches_its_files(memory_store):
    source = Files(**{"a.txt": b"alpha beta"})
    model = ScriptedChatModel(["ok"])
    msg = message("read", files=(source.ref("a.txt"),), event_id="e1")
    async with make_engine(memory_store, model).reply(msg, resumed=True, files=source) as reply:
        [delta async for delta in reply]
    assert source.fetched == ["a.txt"] and "alpha beta" in question(model).content


async def test_files_without_a_source_are_named_not_read(memory_store):
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model)
    msg = message("see", files=(FileRef("a.txt", "text/plain", 4, "x"),), event_id="e1")
    async with engine.reply(msg) as reply:
        text = "".join([delta async for delta in reply])
    assert "couldn't read a.txt" in text


async def test_the_usage_estimate_counts_images_when_the_server_sends_none(memory_store):
    class NoUsage(ScriptedChatModel):
        async def stream(self, messages, params):
            async for item in super().stream(messages, params):
                if isinstance(item, str):
                    yield item

    source = Files(**{"shot.png": samples.png((1024, 1024))})
    engine = make_engine(memory_store, NoUsage(["ok"]))
    msg = message("look", files=(source.ref("shot.png"),), event_id="e1")
    async with engine.reply(msg, files=source) as reply:
        [delta async for delta in reply]
    assert reply.usage is not None and reply.usage.prompt_tokens > 765  # 4 tiles + base


def test_pillow_pypdf_and_the_mcp_sdk_wait_until_they_are_needed():
    # Imported up front, their objects made every full pass of the cycle collector
    # longer: the engine ran a third slower in bench/core_bench.py.
    code = ("import sys, bots.cli, bots.runner, bots.app, adapters.slack.adapter, adapters.discord.adapter; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'pypdf', 'mcp')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
