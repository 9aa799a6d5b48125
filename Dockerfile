# The giaoban service. Built by docker-compose.yml; runs as an unprivileged user with its data in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY conference ./conference
COPY live ./live
COPY signaling ./signaling
COPY scheduler ./scheduler
COPY web ./web
RUN pip install -c constraints.txt . && useradd --system --uid 10001 --home-dir /data giaoban && mkdir /data && chown giaoban /data

USER giaoban
WORKDIR /data
ENV GIAOBAN_HOST=0.0.0.0 GIAOBAN_PORT=8080 GIAOBAN_DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["giaoban", "serve"]
