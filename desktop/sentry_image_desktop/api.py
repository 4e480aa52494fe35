"""The window's Python bridge (pywebview ``js_api``). Every public method is callable from the UI as
``pywebview.api.<name>(...)`` and returns JSON-ready data; errors come back as ``{"error": ...}``."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from sentry_image import __version__
from sentry_image.atomic_files import atomic_write_text
from sentry_image.errors import SentryError
from sentry_image.launch import command_line
from sentry_image.registry.store import ModelStore
from sentry_image.settings import load_settings, update_settings
from sentry_image_desktop.jobs import Job, expand_paths, thumbnail_data_url
from sentry_image_desktop.service_control import ServiceController

BATCH = 8
AUTOSTART_FILE = Path.home() / ".config" / "autostart" / "sentry-image.desktop"


def desktop_entry_exec(argv: list[str]) -> str:
    """``argv`` as a freedesktop Desktop Entry ``Exec`` value: an argument with spaces or reserved
    characters goes in double quotes with the characters the quoting reserves backslash-escaped, then
    the file's string escaping doubles every backslash; ``%`` becomes ``%%``."""
    out = []
    for arg in argv:
        arg = arg.replace("%", "%%")
        if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
            out.append(arg)
        else:
            out.append('"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"')
    return " ".join(out).replace("\\", "\\\\")


class DesktopApi:
    """Service control, model management, checks, evaluation and settings for the window."""

    def __init__(self, port: int = 8765) -> None:
        self.service = ServiceController(port)
        self.jobs: dict[str, Job] = {}
        self.window = None  # set by the app; used for file dialogs
        self.quiz: Any = None  # the "Can you tell?" round in progress
        self._quiz_detector: Any = None  # loaded once, in-process, for the quiz

    # ---- service ----
    def status(self) -> dict[str, Any]:
        """Running or not, who started it, device, active model, version."""
        health = self.service.health()
        return {
            "running": health is not None,
            "started_here": self.service.started_here,
            "port": self.service.port,
            "device": (health or {}).get("device"),
            "backend": (health or {}).get("backend"),
            "model": (health or {}).get("model"),
            "ready": bool(health and health.get("ready")),
            "badges_paused": bool(load_settings().get("badges_paused")),
            "version": __version__,
        }

    def start_service(self) -> dict[str, Any]:
        """Start the service (or adopt the one already running)."""
        return self.service.start()

    def stop_service(self) -> dict[str, Any]:
        """Stop the service this app started."""
        return self.service.stop()

    def pairing_code(self) -> dict[str, Any]:
        """A fresh 6-digit code for the browser extension."""
        try:
            r = self.service.call("POST", "/pair", json={"request_code": True})
        except OSError:
            return {"error": "the service is not running"}
        return r.json() if r.ok else {"error": r.text}

    def service_log(self) -> list[str]:
        """Recent log lines of the service this app started."""
        return list(self.service.log)[-50:]

    def set_badges_paused(self, paused: bool) -> dict[str, Any]:
        """Pause or resume the extension's automatic badges (the service tells the extension)."""
        update_settings(badges_paused=bool(paused))
        return {"badges_paused": bool(paused)}

    # ---- models ----
    def list_models(self) -> dict[str, Any]:
        """Installed models with their card details."""
        store = ModelStore()
        out = []
        for m in store.list():
            s = m.summary()
            card = m.card
            s.update(
                description=card.get("description", ""),
                paper=card["architecture"].get("paper", ""),
                training=card.get("training", {}).get("train", {}),
                input=card.get("input", {}),
                parts=card.get("training", {}).get("parts", {}),
            )
            out.append(s)
        return {"active": store.active_id(), "models": out}

    def set_active_model(self, model_id: str) -> dict[str, Any]:
        """Select a model (live in the running service, else for the next start)."""
        try:
            if self.service.health() is not None:
                r = self.service.call("PUT", "/models/active", json={"id": model_id})
                return r.json() if r.ok else {"error": r.json().get("error", {}).get("message", r.text)}
            ModelStore().use(model_id)
            return {"active": model_id}
        except SentryError as exc:
            return {"error": exc.message}

    def remove_model(self, model_id: str) -> dict[str, Any]:
        """Delete a user model (the built-in one is refused)."""
        try:
            ModelStore().remove(model_id)
            return {"removed": model_id}
        except SentryError as exc:
            return {"error": exc.message}

    def import_model(self, path: str | None = None) -> dict[str, Any]:
        """Validate and install a model folder (asks with a folder dialog when no path is given)."""
        if not path:
            path = self._pick("folder")
            if not path:
                return {"cancelled": True}
        try:
            return {"imported": ModelStore().import_folder(Path(path)).id}
        except SentryError as exc:
            return {"error": exc.message}

    # ---- "Can you tell?" ----
    def quiz_start(self, dataset: str | None = None, count: int = 10) -> dict[str, Any]:
        """Start a round from a labelled folder or manifest (asks with a folder dialog when none is given)."""
        from sentry_image.engine.load import load_detector
        from sentry_image_desktop.quiz import start_round

        if not dataset:
            dataset = self._pick("folder")
            if not dataset:
                return {"cancelled": True}
        try:
            detector = self._quiz_detector or load_detector(ModelStore().active().folder)
            self._quiz_detector = detector
            self.quiz = start_round(dataset, max(1, int(count)), detector)
        except (SentryError, ValueError, FileNotFoundError) as exc:
            return {"error": getattr(exc, "message", str(exc))}
        first = self.quiz.current_image()
        if first is None:
            return {"error": f"none of the images drawn from {dataset} decodes"}
        return {"round": self.quiz.id, "dataset": dataset, "model": detector.model_id, "image": first}

    def quiz_answer(self, round_id: str, guess: str) -> dict[str, Any]:
        """Answer the current image with "real" or "ai"."""
        if self.quiz is None or self.quiz.id != round_id:
            return {"error": "no such round; start a new one"}
        if guess not in ("real", "ai") or len(self.quiz.answers) >= len(self.quiz.images):
            return {"error": "answer real or ai, once per image"}
        return self.quiz.answer(guess)

    def quiz_history(self) -> dict[str, Any]:
        """Every saved round (terminal and window alike), newest first."""
        from sentry_image.quiz.rounds import load_history

        rounds = load_history()
        return {"rounds": [{k: r.get(k) for k in ("time", "dataset", "model", "accuracy")} for r in reversed(rounds)]}

    def quiz_export_csv(self, path: str | None = None) -> dict[str, Any]:
        """Write the quiz history as CSV (asks where when no path is given)."""
        from sentry_image.quiz.rounds import history_csv, load_history

        if not path:
            picked = self._pick("save")
            if not picked:
                return {"cancelled": True}
            path = picked
        rounds = load_history()
        atomic_write_text(Path(path), history_csv(rounds))
        return {"written": path, "rounds": len(rounds)}

    # ---- checks ----
    def pick_paths(self, kind: str = "files") -> list[str]:
        """Ask the user for files or a folder."""
        picked = self._pick(kind)
        return [picked] if isinstance(picked, str) else list(picked or [])

    def _pick(self, kind: str) -> Any:
        if self.window is None:
            return None
        import webview

        if kind == "save":
            result = self.window.create_file_dialog(webview.FileDialog.SAVE, save_filename="quiz-history.csv")
            return result if isinstance(result, str) or not result else result[0]
        dialog = webview.FileDialog.FOLDER if kind == "folder" else webview.FileDialog.OPEN
        result = self.window.create_file_dialog(dialog, allow_multiple=kind != "folder")
        if not result:
            return None
        return result[0] if kind == "folder" else list(result)

    def check_paths(self, paths: list[str]) -> dict[str, Any]:
        """Start checking files and folders; poll ``job_status`` for results."""
        files = expand_paths(paths)
        if not files:
            return {"error": "no image files found"}
        start = self.service.start()
        if not start.get("ok"):
            return {"error": start.get("error", "the service could not start")}
        job = Job("check", len(files))
        self.jobs[job.id] = job

        def work(j: Job) -> None:
            for i in range(0, len(files), BATCH):
                if j.cancelled:
                    return
                chunk = files[i : i + BATCH]
                parts, datas = [], []
                for f in chunk:
                    try:
                        data = f.read_bytes()
                    except OSError as exc:
                        j.add({"path": str(f), "error": {"code": "read_error", "message": str(exc)}})
                        continue
                    datas.append((f, data))
                    parts.append(("file", (f.name, data, "application/octet-stream")))
                if not parts:
                    continue
                r = self.service.call("POST", "/detect", files=parts)
                body = r.json()
                if "results" not in body:
                    raise RuntimeError(body.get("error", {}).get("message", f"HTTP {r.status_code}"))
                for (f, data), res in zip(datas, body["results"], strict=True):
                    j.add({**res, "path": str(f), "name": f.name, "thumbnail": thumbnail_data_url(data)})

        job.run(work)
        return {"job": job.id, "total": job.total}

    def check_image_data(self, data_url: str) -> dict[str, Any]:
        """Check a pasted image given as a data URL."""
        try:
            header, b64 = data_url.split(",", 1)
            data = base64.b64decode(b64, validate=True)
        except (ValueError, TypeError):
            return {"error": "not an image data URL"}
        start = self.service.start()
        if not start.get("ok"):
            return {"error": start.get("error")}
        r = self.service.call("POST", "/detect", data=data, headers={"Content-Type": "application/octet-stream"})
        res = r.json().get("results", [{}])[0]
        return {**res, "name": "pasted image", "path": "", "thumbnail": thumbnail_data_url(data)}

    def job_status(self, job_id: str, since: int = 0) -> dict[str, Any]:
        """Progress of a job and its new results."""
        job = self.jobs.get(job_id)
        return job.snapshot(since) if job else {"error": f"no job {job_id}"}

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """Stop a job after the batch in progress."""
        job = self.jobs.get(job_id)
        if job:
            job.cancelled = True
        return {"cancelled": bool(job)}

    def heatmap(self, path: str) -> dict[str, Any]:
        """The heatmap overlay of a checked file, as a PNG data URL."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            return {"error": str(exc)}
        r = self.service.call("POST", "/heatmap", data=data, headers={"Content-Type": "application/octet-stream"})
        if not r.ok:
            return {"error": r.json().get("error", {}).get("message", r.text)}
        return {"dataUrl": "data:image/png;base64," + base64.b64encode(r.content).decode()}

    def export_results(self, job_id: str, fmt: str, path: str) -> dict[str, Any]:
        """Write a job's results as CSV or JSON."""
        job = self.jobs.get(job_id)
        if job is None:
            return {"error": f"no job {job_id}"}
        rows = [{k: v for k, v in r.items() if k != "thumbnail"} for r in job.snapshot()["results"]]
        target = Path(path)
        if fmt == "json":
            atomic_write_text(target, json.dumps(rows, indent=2))
        elif fmt == "csv":
            cols = ["path", "score", "verdict", "pixel_score", "model", "compression", "explanation", "error"]
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
            writer.writeheader()
            for r in rows:
                comp = r.get("compression") or {}
                writer.writerow(
                    {**r, "compression": comp.get("state", ""), "error": (r.get("error") or {}).get("message", "")}
                )
            atomic_write_text(target, buf.getvalue())
        else:
            return {"error": f"unknown format {fmt!r} (csv or json)"}
        return {"written": str(target), "rows": len(rows)}

    # ---- evaluation ----
    def evaluate_models(self, folder: str, model_ids: list[str]) -> dict[str, Any]:
        """Evaluate models on a labelled folder with the project's evaluation code (a job)."""
        from sentry_image.engine.load import load_detector
        from sentry_image.evaluation.leaderboard import write_leaderboard
        from sentry_image.evaluation.report import evaluate_model
        from sentry_image.training.datasets import open_dataset

        try:
            samples = open_dataset(folder)
        except (ValueError, FileNotFoundError) as exc:
            return {"error": str(exc)}
        store = ModelStore()
        job = Job("eval", len(model_ids))
        self.jobs[job.id] = job
        out_dir = Path(folder).resolve() / "sentry-image-eval" if os.access(folder, os.W_OK) else Path.cwd()

        def work(j: Job) -> None:
            entries = []
            for mid in model_ids:
                detector = load_detector(store.folder_for(mid))
                entry = evaluate_model(detector, samples, robustness=False, show_progress=False)
                entries.append(entry)
                j.add({k: entry[k] for k in ("model", "overall", "groups")})
            md = write_leaderboard(entries, out_dir, dataset=folder, split="", command="desktop app evaluation")
            j.extra["markdown"] = md.read_text(encoding="utf-8")
            j.extra["plots"] = {
                p.name: "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()
                for p in sorted(out_dir.glob("*.png"))
            }

        job.run(work)
        return {"job": job.id, "total": job.total}

    # ---- settings ----
    def get_settings(self) -> dict[str, Any]:
        """Thresholds (the user's own, and the active model's that apply otherwise) and start-on-login."""
        s = load_settings()
        try:
            model_thresholds = ModelStore().active().card["thresholds"]
        except SentryError:
            model_thresholds = None
        return {
            "thresholds": s.get("desktop_thresholds"),
            "model_thresholds": model_thresholds,
            "start_on_login": AUTOSTART_FILE.is_file(),
            "start_on_login_supported": sys.platform.startswith("linux"),
        }

    def save_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Save thresholds (used for the verdicts shown here) and start-on-login."""
        th = settings.get("thresholds")
        if th is not None and not (0 <= th.get("likely_real", -1) <= th.get("likely_ai", -1) <= 1):
            return {"error": "thresholds must satisfy 0 <= likely_real <= likely_ai <= 1"}
        update_settings(desktop_thresholds=th)
        if sys.platform.startswith("linux"):
            if settings.get("start_on_login"):
                AUTOSTART_FILE.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(
                    AUTOSTART_FILE,
                    "[Desktop Entry]\nType=Application\nName=Sentry-Image\n"
                    f"Exec={desktop_entry_exec(command_line('desktop'))}\n",
                )
            else:
                AUTOSTART_FILE.unlink(missing_ok=True)
        return self.get_settings()
