"""console: a default set of canned replies, Swedish and English

Revision ID: 0013b_canned
Revises: 0015_care
Create Date: 2026-12-03

No schema change. A new server's console had no canned replies at all; this puts a
starting set in the ``snippets`` table (greeting, asking about safety, acute danger,
not your fault, referral, closing; each in Swedish and in English), which supervisors
edit in the console like any other (``PUT /api/snippets``). Only a table that is still
empty gets them: a list a supervisor already wrote is left alone. The texts are frozen
here (a migration does not import the application); docs/architecture.md lists them.
Downgrade removes the rows only if they are still exactly these texts.
"""
from __future__ import annotations

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0013b_canned'
down_revision = '0015_care'
branch_labels = None
depends_on = None

BY = "default"          # updated_by: no account wrote these

DEFAULTS: list[tuple[str, str, str]] = [   # (lang, title, text)
    ("sv", "Hälsning",
     "Hej och välkommen! Jag är volontär här. Du är anonym och bestämmer själv vad du vill berätta. "
     "Vad vill du prata om i dag?"),
    ("sv", "Fråga om säkerhet",
     "Innan vi fortsätter vill jag fråga: är du trygg just nu? Finns det någon nära dig som kan se "
     "eller höra vad du skriver?"),
    ("sv", "Akut fara",
     "Om du eller någon annan är i fara just nu, ring 112. Du får ringa även om du inte är säker på "
     "att det är tillräckligt allvarligt."),
    ("sv", "Inte ditt fel",
     "Det du berättar är inte ditt fel. Ingen har rätt att behandla dig så."),
    ("sv", "Hänvisning",
     "Jag vill tipsa dig om ett ställe där du kan få mer stöd, också efter den här chatten. Jag skickar "
     "uppgifterna här i chatten. Du bestämmer själv om och när du hör av dig till dem."),
    ("sv", "Avslutning",
     "Tack för att du hörde av dig och för att du berättade. Du är alltid välkommen tillbaka hit. "
     "Ta hand om dig!"),
    ("en", "Greeting",
     "Hi and welcome! I am a volunteer here. You are anonymous and you decide what you want to tell. "
     "What would you like to talk about today?"),
    ("en", "Asking about safety",
     "Before we go on, I want to ask: are you safe right now? Is there anyone near you who can see or "
     "hear what you write?"),
    ("en", "Acute danger",
     "If you or someone else is in danger right now, call 112. You may call even if you are not sure "
     "it is serious enough."),
    ("en", "Not your fault",
     "What you are telling me is not your fault. Nobody has the right to treat you like that."),
    ("en", "Referral",
     "I would like to tell you about a place where you can get more support, also after this chat. "
     "I will send their details here in the chat. You decide if and when you contact them."),
    ("en", "Closing",
     "Thank you for reaching out and for telling me. You are always welcome back here. Take care!"),
]

snippets = sa.table(
    'snippets',
    sa.column('position', sa.Integer()), sa.column('lang', sa.String()), sa.column('title', sa.String()),
    sa.column('text', sa.Text()), sa.column('updated_at', sa.DateTime(timezone=True)),
    sa.column('updated_by', sa.String()),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(snippets)).scalar_one():
        return
    now = datetime.now(timezone.utc)
    op.bulk_insert(snippets, [{"position": i, "lang": lang, "title": title, "text": text, "updated_at": now,
                               "updated_by": BY} for i, (lang, title, text) in enumerate(DEFAULTS)])


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(snippets.c.lang, snippets.c.title, snippets.c.text)).all()
    if sorted(tuple(r) for r in rows) == sorted(DEFAULTS):
        op.execute(snippets.delete())
