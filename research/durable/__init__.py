"""Durable jobs on DBOS Transact: every job a workflow, every graph step a checkpointed child.

* :mod:`research.durable.engine` configures DBOS once per process (SQLite in
  the data folder, or ``RESEARCH_DATABASE_URL``'s Postgres), launches it on the
  jobs' event loop, and declares the provider queue: one concurrency cap and
  rate limit for every model request of every replica.
* :mod:`research.durable.workflows` holds the two registered workflows, a
  job and a step, and :class:`~research.durable.workflows.DurableSteps`, the
  graph executor that runs each step as a workflow whose id is the job's id and
  the step's key, so a restarted process gets recorded results back whatever
  order the steps finished in.
* :mod:`research.durable.host` is how a job reaches the front end that shows it
  (the web app's job runner, or the command line), also after a restart.
"""
