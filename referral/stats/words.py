"""The words of the statistics pages (dashboard and printed report), one language at a time.

Swedish first, English second. A page is rendered in the language of the staff shell's
choice (the ``jourchatt_lang`` cookie). Vocabulary words come from ``referral.labels`` (the
one table of labels), municipalities from ``geography``, services by their directory
name; numbers in the language's way (decimal comma in Swedish), shares as %, waits
in minutes. No page shows a code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .. import geography, labels
from . import report

LANGS = ("sv", "en")
COOKIE = "jourchatt_lang"
MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
           "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}

TEXTS: dict[str, tuple[str, str]] = {
    "intake_topic": ("Vad den unga ville prata om", "What the young person wanted to talk about"),
    "intake_topic_chosen": ("Valt ämne i chatten", "Topic chosen in the chat"),
    "topic_answered": ("{name}: besvarade", "{name}: answered"),
    "topic_specialist": ("{name}: nådde en volontär med kunskap om ämnet", "{name}: reached a volunteer trained for it"),
    "topic_waits": ("Väntetid per ämne (median)", "Waiting time by topic (median)"),
    "topic_wait": ("{name}: väntetid", "{name}: wait"),
    "topic_wait_specialist": ("{name}: väntetid till en med kunskap om ämnet", "{name}: wait for one trained for it"),
    "languages": ("Chattens språk", "The chat's language"),
    "by_language": ("Samtal per språk", "Conversations by language"),
    "by_language_contacts": ("Kontakter per språk", "Contacts by language"),
    "volunteer_time": ("Volontärtid", "Volunteer time"),
    "vt_on_duty": ("Timmar i tjänst", "Hours on duty"), "vt_in_chat": ("Timmar i samtal", "Hours in chats"),
    "vt_volunteers": ("Volontärer i tjänst", "Volunteers on duty"), "vt_booked": ("Bokade timmar", "Booked hours"),
    "vt_worked_of_booked": ("Arbetad tid av bokad tid", "Hours worked of hours booked"),
    "vt_value": ("Värde ({v} kr per timme)", "Value ({v} SEK an hour)"), "kronor": ("{n} kr", "SEK {n}"),
    "vt_people": ("Timmar per volontär (bara för samordnare)", "Hours per volunteer (coordinators only)"),
    "vt_volunteer": ("Volontär", "Volunteer"),
    "care": ("Omsorg om volontärerna", "Care for volunteers"),
    "care_chats": ("Besvarade samtal", "Answered conversations"),
    "care_escalations_help": ("Bett en handledare om hjälp", "Asked a supervisor for help"),
    "care_escalations_acute": ("Larm om akut fara", "Alerts of acute danger"),
    "care_chats_escalated": ("Samtal med larm", "Conversations with an alert"),
    "care_debriefs": ("Bett om avlastningssamtal", "Asked for a debrief"),
    "care_heavy": ("Tunga samtal", "Heavy conversations"),
    # the outcomes and the post-chat survey (referral.stats.survey)
    "outcomes": ("Effekter: enkäten och hänvisningarna", "Outcomes: the survey and the referrals"),
    "oc_counted": ("Räknade samtal", "Counted conversations"), "oc_offered": ("Fick enkäten", "Offered the survey"),
    "oc_responses": ("Svarade på enkäten", "Answered the survey"), "oc_response_rate": ("Svarsfrekvens", "Response rate"),
    "oc_helped": ("Samtalet hjälpte (ja eller delvis)", "The chat helped (yes or partly)"),
    "oc_knows_where_to_turn": ("Vet var de kan vända sig", "Know where to turn"),
    "oc_would_return": ("Skulle chatta igen", "Would chat again"),
    "oc_suggested": ("Hänvisningar föreslagna", "Referrals suggested"),
    "oc_redeemed": ("Hänvisningar inlösta: nådde stöd", "Referrals redeemed: reached support"),
    "oc_redeemed_share": ("Andel inlösta", "Share redeemed"),
    "survey": ("Enkät efter chatten", "Post-chat survey"),
    "sq_helped": ("Kändes samtalet till hjälp?", "Did the chat help?"),
    "sq_knows_where_to_turn": ("Vet var hen kan vända sig nu?", "Knows where to turn now?"),
    "sq_would_return": ("Skulle chatta igen?", "Would chat again?"),
    "sa_yes": ("ja", "yes"), "sa_partly": ("delvis", "partly"), "sa_no": ("nej", "no"),
    "sa_unsure": ("vet inte", "not sure"), "sa_not_answered": ("inget svar", "no answer"),
    "title": ("Statistik", "Statistics"),
    "heading": ("Statistik för partnerskapen", "Partnership statistics"),
    "period": ("Period", "Period"), "from": ("Från", "From"), "to": ("Till", "To"),
    "own_dates": ("Egna datum", "Own dates"), "own_dates_hint": ("Lämna perioden tom och välj datum.",
                                                                 "Leave the period empty and pick dates."),
    "partnership": ("Partnerskap", "Partnership"), "municipality": ("Kommun", "Municipality"),
    "all_chats": ("Alla chattar", "All chats"), "all_municipalities": ("Alla kommuner", "All municipalities"),
    "show": ("Visa", "Show"), "choose_period": ("Välj period", "Choose a period"),
    "year_earlier": ("året före", "a year earlier"), "this_period": ("perioden", "this period"),
    "same_period_before": ("Samma period året före", "The same period a year earlier"),
    "csv": ("Ladda ner CSV (exakta tal, bara internt)", "Download CSV (exact figures, internal only)"),
    "csv_public": ("CSV för publicering (små tal dolda)", "CSV for publication (small numbers withheld)"),
    "print": ("Halvårsrapport för utskrift", "Half-year report for printing"),
    "no_data": ("Inga samtal är registrerade i perioden {p}.", "No conversations are recorded in the period {p}."),
    "no_data_future": ("Perioden har inte börjat än.", "The period has not started yet."),
    "no_data_scope": ("Partnerskapets eller kommunens urval har inga samtal i perioden; prova Alla chattar.",
                      "The partnership's or municipality's selection has no conversations in the period; try All chats."),
    "no_data_none": ("Inga samtal har avslutats och sparats i perioden ännu. Ett samtal räknas när det har avslutats.",
                     "No conversation has been ended and recorded in the period yet. A conversation counts once it has ended."),
    "running": ("Perioden pågår: siffrorna gäller till och med i dag.", "The period is running: the figures run to today."),
    "current": ("nuvarande", "current"),
    "none": ("–", "–"), "withheld": ("..", ".."),
    # figures
    "conversations": ("Samtal", "Conversations"), "counted": ("Samtal som räknas i statistiken", "Conversations counted"),
    "contacts": ("Kontakter (även de som lämnade kön)", "Contacts (including those who left the queue)"),
    "mean_age": ("Medelålder", "Mean age"), "left_queue": ("Lämnade kön innan svar", "Left the queue before an answer"),
    "median_wait": ("Väntetid, median", "Waiting time, median"),
    "p90_wait": ("Väntetid, 9 av 10 väntade högst", "Waiting time, 9 in 10 waited at most"),
    "volunteer_hours": ("Volontärtimmar i chatten", "Volunteer hours in the chat"),
    "volunteers": ("Volontärer som tog chattar", "Volunteers who took chats"),
    "summary": ("Översikt", "Summary"), "gender": ("Kön", "Gender"), "topic": ("Vem samtalet gällde", "Who the conversation was about"),
    "residence": ("Bor i kommun", "Lives in municipality"), "age": ("Ålder", "Age"),
    "district_title": ("Bor i stadsdel", "Lives in district"), "district": ("Stadsdel", "District"),
    "district_in": ("Stadsdelar i {m}", "Districts of {m}"),
    "district_not_stated": ("stadsdel inte angiven", "district not stated"),
    "topic_gender": ("Vem samtalet gällde, efter kön", "Who the conversation was about, by gender"),
    "violence": ("Former av våld", "Forms of violence"), "first_contact": ("Första kontakt med stöd", "First contact with support"),
    "outcome": ("Hur samtalen slutade", "How the conversations ended"),
    "non_data": ("Samtal som inte räknas (test, tysta, skämt, kränkande)", "Conversations not counted (test, silent, prank, abusive)"),
    "referrals": ("Hänvisningar", "Referrals"), "suggested": ("Föreslagna", "Suggested"), "redeemed": ("Inlösta", "Redeemed"),
    "service": ("Tjänst", "Service"), "in_all": ("Totalt", "In all"),
    "weeks": ("Samtal per vecka", "Conversations per week"), "week_of": ("veckan från {d}", "the week from {d}"),
    "yoy": ("Jämfört med samma period året före", "Compared with the same period a year earlier"),
    "yoy_gender": ("Kön jämfört med året före", "Gender compared with a year earlier"),
    "yoy_topic": ("Vem samtalet gällde, jämfört med året före", "Who the conversation was about, compared with a year earlier"),
    "yoy_summary": ("Samtal och kontakter jämfört med året före", "Conversations and contacts compared with a year earlier"),
    "age_under_13": ("under 13 år", "under 13"), "age_over_23": ("över 23 år", "over 23"),
    "age_band": ("{a} år", "{a} years"), "age_not_stated": ("ålder inte angiven", "age not stated"),
    "years": ("{n} år", "{n} years"), "minutes": ("{n} min", "{n} min"), "hours": ("{n} timmar", "{n} hours"),
    "change": ("Förändring", "Change"),
    "none_recorded": ("ingen form antecknad", "no form noted"),
    "short_conversations": ("Samtal", "Conversations"), "short_counted": ("Räknade samtal", "Counted"),
    "short_contacts": ("Kontakter", "Contacts"),
    # the printed report
    "report_title": ("Halvårsrapport", "Half-year report"),
    "report_for": ("Delrapportering av partnerskapet", "Interim report of the partnership"),
    "report_period": ("Rapportperiod", "Reporting period"), "report_compared": ("Jämförelseperiod", "Comparison period"),
    "report_made": ("Framtagen {d} ur jourchattens avidentifierade samtalsregister.",
                    "Produced on {d} from the chat's de-identified conversation records."),
    "report_parties": ("Parter", "Parties"), "report_target": ("Målgrupp", "Target group"),
    "report_target_text": ("unga {a}–{b} år", "young people aged {a}–{b}"),
    "report_goals": ("Partnerskapets mål", "The partnership's goals"),
    "report_disclosure": ("Tal mellan 1 och {t} visas som ”..”, och likaså tal som skulle avslöja ett dolt tal, så att ingen enskild ung person kan pekas ut.",
                          "Numbers from 1 to {t} are shown as “..”, as are numbers that would reveal a withheld one, so that no single young person can be singled out."),
    "report_back": ("Tillbaka till statistiken", "Back to the statistics"),
    "report_print": ("Skriv ut eller spara som PDF", "Print or save as PDF"),
    "report_volume": ("Samtal och kontakter", "Conversations and contacts"),
    "report_who": ("Vilka som hörde av sig", "Who got in touch"),
    "report_queue": ("Tillgänglighet", "Availability"),
    "coordinators_only": ("Bara samordnare och administratörer ser statistiken.", "Only coordinators and admins see the statistics."),
    "sign_in_first": ("Logga in först.", "Sign in first."), "sign_in": ("Logga in", "Sign in"),
    "problem": ("Det gick inte att visa statistiken: {d}", "The statistics could not be shown: {d}"),
}

# The row labels of a report's summary, in order: (key of the figure, key of its label, unit).
SUMMARY = (
    ("total", "conversations", ""), ("counted", "counted", ""), ("contacts", "contacts", ""),
    ("mean_age", "mean_age", "years"), ("queue.left_queue_share", "left_queue", "%"),
    ("queue.median_wait_s", "median_wait", "min"), ("queue.p90_wait_s", "p90_wait", "min"),
    ("volunteers.hours", "volunteer_hours", "h"), ("volunteers.volunteers", "volunteers", ""),
)
# Which vocabulary labels each table reads.
FAMILIES = {"by_gender": "gender", "by_topic": "role", "by_violence": "violence", "by_first_contact": "first_contact",
            "by_outcome": "outcome", "non_data": "non_data"}


def lang_of(cookies: dict[str, str], query: dict[str, Any] | None = None) -> str:
    """The page's language: ``?lang=`` if given, else the shell's cookie, else Swedish."""
    chosen = (query or {}).get("lang") or cookies.get(COOKIE) or "sv"
    return chosen if chosen in LANGS else "sv"


def t(lang: str, key: str, **values: Any) -> str:
    sv, en = TEXTS[key]
    text = en if lang == "en" else sv
    for k, v in values.items():
        text = text.replace("{" + k + "}", str(v))
    return text


def label(lang: str, family: str, value: str) -> str:
    """A vocabulary word, a municipality or an age band as a person reads it."""
    pair = labels.LABELS.get(family, {}).get(value)
    if pair:
        return pair[1] if lang == "en" else pair[0]
    if family == "municipality" or value in geography.MUNICIPALITIES:
        if value == "other":
            return labels.OTHER_MUNICIPALITY[1 if lang == "en" else 0]
        return geography.MUNICIPALITIES.get(value, value)
    if family == "district":
        if value == "not_stated":
            return t(lang, "district_not_stated")
        return next((names[value] for names in geography.DISTRICTS.values() if value in names), value)
    if family == "age":
        if value == "under_13":
            return t(lang, "age_under_13")
        if value == "over_23":
            return t(lang, "age_over_23")
        if value == "not_stated":
            return t(lang, "age_not_stated")
        return t(lang, "age_band", a=value.replace("-", "–"))
    if value == "not_stated":
        return labels.LABELS["gender"]["not_stated"][1 if lang == "en" else 0]
    if value == "none_recorded":
        return t(lang, "none_recorded")
    if value == "other":
        return labels.OTHER_MUNICIPALITY[1 if lang == "en" else 0] if family == "residence" else value
    return value


def is_withheld(value: Any) -> bool:
    return isinstance(value, dict) and value == report.SUPPRESSED


def number(lang: str, value: Any, unit: str = "") -> str:
    """A figure with its unit: 12 · 17,1 år · 8 % · 4 min · 12,5 timmar; '..' withheld, '–' none."""
    if is_withheld(value):
        return t(lang, "withheld")
    if value is None or not isinstance(value, (int, float)):
        return t(lang, "none")
    if unit == "%":
        pct = value * 100
        text = f"{pct:.0f}" if pct >= 10 or pct == 0 else f"{pct:.1f}".removesuffix(".0")
        return decimal(lang, text) + " %"
    if unit == "min":
        mins = value / 60
        text = f"{mins:.0f}" if mins >= 10 else f"{mins:.1f}"
        return t(lang, "minutes", n=decimal(lang, text.rstrip("0").rstrip(".") if "." in text else text))
    text = f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"
    if unit == "years":
        return t(lang, "years", n=decimal(lang, text))
    if unit == "h":
        return t(lang, "hours", n=decimal(lang, text))
    return decimal(lang, text)


def decimal(lang: str, text: str) -> str:
    return text.replace(".", ",") if lang == "sv" else text


def day(lang: str, d: date | str) -> str:
    """3 december 2026 / 3 December 2026."""
    d = date.fromisoformat(d) if isinstance(d, str) else d
    return f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"


def span(lang: str, start: str, end: str) -> str:
    return f"{day(lang, start)} – {day(lang, end)}"


def preset_name(lang: str, preset: str) -> str:
    """2026H2 -> 'andra halvåret 2026'; other presets as they are written."""
    year, rest = preset[:4], preset[4:]
    names = {"sv": {"H1": "första halvåret", "H2": "andra halvåret", "T1": "första tertialen",
                    "T2": "andra tertialen", "T3": "tredje tertialen", "Q1": "första kvartalet",
                    "Q2": "andra kvartalet", "Q3": "tredje kvartalet", "Q4": "fjärde kvartalet"},
             "en": {"H1": "first half of", "H2": "second half of", "T1": "first four months of",
                    "T2": "second four months of", "T3": "last four months of", "Q1": "first quarter of",
                    "Q2": "second quarter of", "Q3": "third quarter of", "Q4": "fourth quarter of"}}
    if not rest:
        return ("året " if lang == "sv" else "the year ") + year
    if rest in names[lang]:
        return f"{names[lang][rest]} {year}"
    if rest.startswith("-") and rest[1:].isdigit():
        return f"{MONTHS[lang][int(rest[1:]) - 1]} {year}"
    return preset


def dig(block: dict[str, Any], path: str) -> Any:
    node: Any = block
    for part in path.split("."):
        if not isinstance(node, dict) or is_withheld(node):
            return node if is_withheld(node) else None
        node = node.get(part)
    return node
