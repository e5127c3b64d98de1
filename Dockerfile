FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY chat ./chat
COPY referral ./referral
COPY volunteer ./volunteer
RUN pip install --no-cache-dir . && useradd --uid 10001 --no-create-home jourchatt
USER 10001
EXPOSE 8000
CMD ["jourchatt", "serve", "--host", "0.0.0.0", "--port", "8000"]
