# A plain mirror of `pip install .` and `mockserver serve`; the tests exercise exactly those.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MOCKSERVER_HOST=0.0.0.0 MOCKSERVER_PORT=8080

WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
RUN pip install --no-cache-dir . && rm -rf /src

RUN useradd --create-home --uid 10001 mock
USER mock
WORKDIR /home/mock

EXPOSE 8080
# No curl in the image: Python reads the address and port from the environment and asks /__admin/health
# (a wildcard address is asked on loopback; one address only, e.g. MOCKSERVER_HOST=10.0.0.5, on that one).
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD python -c "import os, urllib.request; h = os.environ.get('MOCKSERVER_HOST') or '127.0.0.1'; h = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(h, h); urllib.request.urlopen('http://%s:%s/__admin/health' % ('[%s]' % h if ':' in h else h, os.environ.get('MOCKSERVER_PORT') or '8080'), timeout=2)"

# 0.0.0.0 only inside the container (MOCKSERVER_HOST above); the command line default stays 127.0.0.1.
ENTRYPOINT ["mockserver", "serve"]
