"""`crisis up | down | demo`: the local stack (Prefect server, SMTP sink, deployments, a worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.options import console, fails_cleanly, safe_text
from config.settings import get_settings

if TYPE_CHECKING:
    from tasks.demo import DemoResult


@fails_cleanly
def up() -> None:
    """启动本地环境：Prefect 服务器、SMTP 接收器、各部署和一个 worker。"""
    from tasks.db import upgrade_database
    from tasks.stack import start_stack

    upgrade_database()
    stack = start_stack(first_scan=True)
    console.print(f"本地环境已启动：Prefect 界面 {stack.ui_url}，日志在 {stack.var / 'log'}，首次扫描已排队；"
                  f"命令行请先 export PREFECT_API_URL={stack.api_url}；make down（或 crisis down）停止",
                  markup=False, highlight=False, soft_wrap=True)


@fails_cleanly
def down() -> None:
    """停止 `crisis up` 或 `crisis demo` 启动的服务（不碰其他进程）。"""
    from tasks.stack import stop_stack

    notes: list[str] = []
    stopped = stop_stack(notes=notes)
    for note in notes:
        console.print(note, markup=False, highlight=False)
    if stopped or not notes:
        console.print("已停止：" + ("、".join(stopped) if stopped else "没有在运行的服务"))


@fails_cleanly
def demo(seed: Annotated[int | None, typer.Option(
        help="随机种子：不填则按当前时间生成；同一种子生成同一场景。")] = None) -> None:
    """生成一个演示场景，通过各部署走完事件的整个生命周期。"""
    from tasks.demo import run_demo
    from tasks.stack import Stack

    result = run_demo(Stack(get_settings()), seed=seed, say=lambda line: console.print(f"· {safe_text(line)}"))
    console.print(demo_summary(result))
    for line in where_to_look(result):
        console.print(line, highlight=False, soft_wrap=True)


def demo_summary(result: DemoResult) -> Table:
    """Return what the demo did: the incident and its level, the mail, the compensation, the notes."""
    table = Table("演示结果", "", show_header=True)
    table.add_row("事件", safe_text(f"{result.incident_key}（{result.level} 级）"))
    table.add_row("已发邮件", f"{result.mails_delivered} 封（其中致歉声明和公开说明草稿发给 {len(result.drafts_to)} 人审核）")
    table.add_row("补偿订单", f"{result.orders_compensated} 单，{result.amount_fen / 100:,.2f} 元")
    for note in result.notes:
        table.add_row("备注", safe_text(note))
    return table


def where_to_look(result: DemoResult) -> list[str]:
    """Return where the demo's results are, one per line and never wrapped (paths and addresses are copied)."""
    lines = [f"邮件（SMTP 接收器，每封一个 .eml）：{result.mail_dir}", f"复盘报告文件：{result.review_path}"]
    if result.reputation_path:
        lines.append(f"本周声誉报告（含竞品对比）：{result.reputation_path}")
    lines += [f"{name}（各版本，最新的在最上面，点开查看）：{url}" for name, url in result.pages.items()]
    lines += [f"Prefect 界面：{result.ui_url}", "本地环境仍在运行；make down（或 crisis down）停止它。"]
    return [safe_text(line) for line in lines]
