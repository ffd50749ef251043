"""A linli process that pulls the fake archive once (for the SIGKILL test in test_wecom_archive.py).

    python archive_child.py SETTINGS_JSON ARCHIVE_JSON KILL_AT_COMMIT

It kills itself with SIGKILL just before its KILL_AT_COMMIT-th database commit (0: never), so
the transaction in flight is lost as in a real crash; otherwise it pulls to the end, recovers
unfinished inbox rows (as a restarted instance does) and prints the pull report as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import timedelta
from itertools import count
from pathlib import Path

import sqlalchemy as sa

from adapters.wecom_archive.channel import ArchiveChannel
from adapters.wecom_archive.fake import FakeArchive
from bots.channels import ChannelHost
from bots.runtime import Runtime
from config.settings import Settings


def main() -> None:
    settings = Settings.model_validate_json(Path(sys.argv[1]).read_text())
    kill_at = int(sys.argv[3])
    runtime = Runtime(settings)
    runtime.prepare()
    channel = ArchiveChannel(ChannelHost(runtime), FakeArchive.load(Path(sys.argv[2])))
    channel.link_members()
    commits = count(1)

    def die_before_commit(_conn) -> None:
        if next(commits) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    sa.event.listen(runtime.engine, "commit", die_before_commit)
    report = channel.pull_once()
    recovered = runtime.recover_inbox(timedelta(0))
    print(json.dumps({"records": report.records, "stored": report.stored, "seq": report.seq, "recovered": recovered}))


if __name__ == "__main__":
    main()
