"""`crisis audit verify`: the keyed, anchored, hash-chained audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.options import console, errors, fails_cleanly

audit_app = typer.Typer(help="哈希链式审计日志。", no_args_is_help=True)

Anchors = Annotated[list[str] | None, typer.Option(
    "--anchor", help="在别处发布的链头，格式 SEQ:HASH（例如复盘邮件中的）；可重复指定。")]


@audit_app.command("verify")
@fails_cleanly
def audit_verify(anchor: Anchors = None) -> None:
    """用密钥逐条校验审计链，并与已发布的锚点比对；每个问题一行。"""
    from tasks.audit import current_key, verify_chain
    from tasks.audit_anchor import anchor_path, parse_anchor, read_anchors
    from tasks.db import session_scope

    path = anchor_path()
    anchors = read_anchors(path) + [parse_anchor(text) for text in anchor or []]
    with session_scope() as session:
        report = verify_chain(session, anchors)
    if current_key() is None:
        errors.print("未配置审计密钥（CRISIS_AUDIT__KEY）：只能检查链的内部一致性和截断，无法发现伪造", markup=False)
    if not anchors:
        errors.print(f"尚无已发布的锚点（{path}）：无法发现末尾条目被删除", markup=False)
    for _, reason in report.problems:
        errors.print(f"审计链有问题：{reason}", markup=False, highlight=False)
    if report.more_problems:
        errors.print(f"……另有 {report.more_problems} 处问题", markup=False)
    if not report.ok:
        raise typer.Exit(1)
    head = f"#{report.head[0]} {report.head[1]}" if report.head else "（空链）"
    matched = f"，与 {len(anchors)} 个已发布的锚点一致" if anchors else ""
    sealed = f"（其中 {report.legacy} 条写于配置密钥之前，已封存）" if report.legacy and current_key() else ""
    console.print(f"审计链完整：{report.checked} 条已验证{sealed}，链头 {head}{matched}",
                  markup=False, highlight=False, soft_wrap=True)
