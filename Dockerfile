# jourchatt node image: `jourchatt serve` (and `jourchatt db upgrade`), see docs/deploy.md.
# No secrets are baked in: every setting comes from JOURCHATT_* at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY chat ./chat
COPY referral ./referral
COPY volunteer ./volunteer

# The project's dependencies already include what a production node needs
# (redis, asyncpg, uvloop). tzdata: the IANA zones for JOURCHATT_TIMEZONE even
# where the slim base image ships no /usr/share/zoneinfo.
RUN pip install --no-cache-dir . tzdata \
 && groupadd --system --gid 10001 jourchatt \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin jourchatt

USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
CMD ["jourchatt", "serve", "--host", "0.0.0.0", "--port", "8000"]
