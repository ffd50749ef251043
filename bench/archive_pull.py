"""How fast the WeCom chat-archive channel drains a backlog (issue 16), SQLite, one process.

    PYTHONPATH=. python bench/archive_pull.py [RECORDS]

The fake archive serves RECORDS group messages (default 1,000; the residents' chatter and
requests of bench/common.TEXTS, all residents having agreed), each RSA-wrapped and
AES-encrypted as the real archive's are. Prints the seconds spent opening the records (RSA
unwrap + decrypt + parse) and the whole pull (opening, one transaction per batch, and the bot
processing every message), and records per second.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.wecom_archive.channel import ArchiveChannel  # noqa: E402
from adapters.wecom_archive.fake import FakeArchive, new_private_key_pem, public_key_of  # noqa: E402
from bench.common import TEXTS, machine  # noqa: E402
from bots.channels import ChannelHost  # noqa: E402
from bots.runtime import Runtime, warm_classifier  # noqa: E402
from config.settings import Settings  # noqa: E402

ROOM = "wrBenchRoom0001"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pem = new_private_key_pem()
    fake = FakeArchive({1: public_key_of(pem)})
    residents = [f"wmBenchResident{i:04d}" for i in range(50)]
    for user in residents:
        fake.add({"msgid": f"agree-{user}", "action": "send", "from": user, "roomid": "", "msgtime": 1_700_000_000_000,
                  "msgtype": "agree", "agree": {"userid": user, "agree_time": 1_700_000_000_000}}, publickey_ver=1)
    for i in range(count):
        fake.add({"msgid": f"bench-{i}", "action": "send", "from": residents[i % len(residents)], "roomid": ROOM,
                  "msgtime": 1_700_000_000_000 + i, "msgtype": "text", "text": {"content": TEXTS[i % len(TEXTS)]}},
                 publickey_ver=1)
    with tempfile.TemporaryDirectory() as tmp:
        grids = Path(tmp) / "grids.yaml"
        example = (Path(__file__).resolve().parent.parent / "config" / "grids.example.yaml").read_text(encoding="utf-8")
        grids.write_text(example.replace("chats:\n", f'chats:\n  - {{chat: "wecom-archive:{ROOM}", grid: xingfu-1, title: 压测群}}\n', 1),
                         encoding="utf-8")
        settings = Settings(data_dir=Path(tmp), grids_file=grids, playground=False, run_outbox=False, run_scheduler=False,
                            wecom_corp_id="ww-bench", wecom_archive_secret="s", wecom_archive_private_keys={1: pem},
                            _env_file=None)
        runtime = Runtime(settings)
        runtime.prepare()
        warm_classifier()
        channel = ArchiveChannel(ChannelHost(runtime), fake)
        started = time.perf_counter()
        for record in fake.records:
            channel.item(record)
        opened = time.perf_counter() - started
        started = time.perf_counter()
        report = channel.pull_once()
        pulled = time.perf_counter() - started
        runtime.engine.dispose()
    total = len(fake.records)
    print(machine())
    print(f"{total} records: opening {opened:.2f} s ({total / opened:.0f}/s); whole pull with the bot {pulled:.2f} s "
          f"({total / pulled:.0f}/s); stored {report.stored}, batches of {settings.wecom_archive_batch_size}")


if __name__ == "__main__":
    main()
