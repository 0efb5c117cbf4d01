"""Research jobs: started, followed, cancelled, retried and resumed through one :class:`JobService`.

* :mod:`research.jobs.service` — the service both front ends call;
* :mod:`research.jobs.snapshots` — what a page reads about a job;
* :mod:`research.jobs.durable` — the job and step workflows on DBOS;
* :mod:`research.jobs.engine` — DBOS for this process, and the provider queue;
* :mod:`research.jobs.orders` — the plain JSON a job and its steps hand to DBOS;
* :mod:`research.jobs.slots` — the process's model-request slots.

Importing this package imports none of them (the command line's ``--help`` stays fast).
"""
