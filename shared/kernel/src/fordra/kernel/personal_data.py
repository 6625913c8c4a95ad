"""Sealing the personal part of events per data subject (the basis for crypto-shredding).

Each data subject (a customer) gets a key of their own; the personal part of their events is
encrypted with AES-GCM under that key, with the subject id as associated data so that a sealed part
cannot be moved to another subject. Forgetting a person deletes the key: their events stay in the
log, intact and in order, but their personal part opens to ``None``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fordra.kernel.private_files import private_file

_NONCE_BYTES = 12
_FORMAT_V1 = b"\x01"


class KeyRing(Protocol):
    def key_for(self, subject: str, *, create: bool) -> bytes | None:
        """The subject's key; a new one when ``create`` and none exists; None when forgotten."""
        ...

    def forget(self, subject: str) -> None: ...


class InMemoryKeyRing:
    def __init__(self) -> None:
        self._keys: dict[str, bytes | None] = {}

    def key_for(self, subject: str, *, create: bool) -> bytes | None:
        if subject in self._keys:
            return self._keys[subject]
        if not create:
            return None
        key = AESGCM.generate_key(bit_length=256)
        self._keys[subject] = key
        return key

    def forget(self, subject: str) -> None:
        self._keys[subject] = None


class SqliteKeyRing:
    """Keys in an SQLite file of their own (kept apart from the event stores, so that a copy of the
    events alone never carries the means to read the personal data)."""

    # How soon a key forgotten by another process stops opening data in this one.
    CHECK_SECONDS = 1.0

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        private_file(path)  # the keys: never readable by anyone but the service's own user
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys "
            "(subject TEXT PRIMARY KEY, key BLOB, forgotten_at TEXT)"
        )
        self._cache: dict[str, bytes | None] = {}
        self._seen_version = self._data_version()
        self._checked_at = time.monotonic()

    def _data_version(self) -> int:
        # Changes when another connection (another process of a cluster, the CLI) commits to
        # the file; never for this connection's own writes, which update the cache themselves.
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _drop_cache_if_changed(self) -> None:
        """A key forgotten by another process must stop opening data here too: the cache is
        dropped when the file changed under us, checked at most every ``CHECK_SECONDS`` (the
        check costs a statement; a look in the cache, a dict lookup)."""
        now = time.monotonic()
        if now - self._checked_at < self.CHECK_SECONDS:
            return
        with self._lock:
            self._checked_at = now
            version = self._data_version()
            if version != self._seen_version:
                self._cache.clear()
                self._seen_version = version

    def key_for(self, subject: str, *, create: bool) -> bytes | None:
        self._drop_cache_if_changed()
        if subject in self._cache:
            return self._cache[subject]
        with self._lock:
            row = self._conn.execute(
                "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
            ).fetchone()
            if row is not None:
                key: bytes | None = row[0]
            elif create:
                # Another process may make the subject's key at the same moment: its wins.
                self._conn.execute(
                    "INSERT INTO subject_keys (subject, key) VALUES (?, ?) "
                    "ON CONFLICT(subject) DO NOTHING",
                    (subject, AESGCM.generate_key(bit_length=256)),
                )
                key = self._conn.execute(
                    "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
                ).fetchone()[0]
            else:
                return None
            self._cache[subject] = key
            return key

    def forget(self, subject: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO subject_keys (subject, key, forgotten_at) "
                "VALUES (?, NULL, datetime('now')) "
                "ON CONFLICT(subject) DO UPDATE SET key = NULL, forgotten_at = datetime('now')",
                (subject,),
            )
            self._cache[subject] = None

    def close(self) -> None:
        self._conn.close()


class PersonalDataSealer:
    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def seal(self, subject: str, data: dict[str, Any]) -> bytes:
        return self.seal_bytes(subject, orjson.dumps(data))

    def open(self, subject: str, sealed: bytes) -> dict[str, Any] | None:
        opened = self.open_bytes(subject, sealed)
        if opened is None:
            return None
        data: dict[str, Any] = orjson.loads(opened)
        return data

    def seal_bytes(self, subject: str, data: bytes) -> bytes:
        """Raw bytes (a whole bank file) sealed as ``seal`` seals a dict, without a JSON round."""
        key = self._keys.key_for(subject, create=True)
        if key is None:
            raise ValueError(f"data subject {subject!r} has been forgotten: no new personal data")
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, data, subject.encode())

    def open_bytes(self, subject: str, sealed: bytes) -> bytes | None:
        """What ``seal_bytes`` sealed; None once the subject's key is forgotten."""
        key = self._keys.key_for(subject, create=False)
        if key is None:
            return None
        if sealed[:1] != _FORMAT_V1:
            raise ValueError("unknown sealed personal-data format")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        return AESGCM(key).decrypt(nonce, body, subject.encode())

    def forget(self, subject: str) -> None:
        self._keys.forget(subject)
