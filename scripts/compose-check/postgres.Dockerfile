# STAND-IN for postgres:16-bookworm, for scripts/compose-check.sh only: Debian's own PostgreSQL
# (bookworm ships 15) behind an entrypoint with the official image's contract for what
# docker-compose.yml uses (postgres-entrypoint.sh). Production pins the official image by digest.
FROM debian:bookworm-slim
ENV LANG=C.UTF-8 \
    PG_MAJOR=15 \
    PGDATA=/var/lib/postgresql/data \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin
# uid/gid 999 as in the official image; no cluster made at install (the entrypoint makes one in
# PGDATA); listen on every address of the container's networks, as the official image does.
RUN set -eux; \
    groupadd -r postgres --gid=999; \
    useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql --shell=/bin/bash postgres; \
    install -d -o postgres -g postgres -m 1777 /var/lib/postgresql; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-common; \
    sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR"; \
    rm -rf /var/lib/apt/lists/*; \
    sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"; \
    install -d -o postgres -g postgres -m 3777 /var/run/postgresql; \
    install -d -o postgres -g postgres -m 1777 "$PGDATA"; \
    postgres --version
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
