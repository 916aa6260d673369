package arshif.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.MultiFieldQueryParser;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

/**
 * The Lucene side of bench/scale.py: the reference engine arshif is compared with.
 *
 * <pre>
 *   index INDEX_DIR INPUT_DIR [RAM_MB]   index every *.jsonl of INPUT_DIR (name order), one thread
 *   serve INDEX_DIR QUERIES.tsv          answer "run FROM TO" lines on stdin with per-query timings
 * </pre>
 *
 * <p>Lucene 9's ArabicAnalyzer with BM25 (k1=1.2, b=0.75), headline and body stored and indexed
 * with positions, date as a LongPoint plus doc values (sort) and a stored value, source as a
 * StringField, id stored and as doc values (the ranked top 100's ids are read from there). The build uses one indexing thread and the SerialMergeScheduler, so merges run in
 * that thread too: Lucene's single-threaded rate. Results are printed as one JSON object a line.
 */
public final class LuceneBench {
  private static final String[] TEXT_FIELDS = {"headline", "body"};
  private static final int TOP = 100;

  private LuceneBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 3 && args[0].equals("index")) {
      double ramMb = args.length > 3 ? Double.parseDouble(args[3]) : 256.0;
      index(Paths.get(args[1]), Paths.get(args[2]), ramMb);
    } else if (args.length == 3 && args[0].equals("serve")) {
      serve(Paths.get(args[1]), Paths.get(args[2]));
    } else {
      System.err.println("usage: index INDEX_DIR INPUT_DIR [RAM_MB] | serve INDEX_DIR QUERIES.tsv");
      System.exit(2);
    }
  }

  // -- indexing ------------------------------------------------------------------------------

  static void index(Path indexDir, Path inputDir, double ramMb) throws IOException {
    List<Path> files = jsonlFiles(inputDir);
    long started = System.nanoTime();
    long docs = 0;
    IndexWriterConfig config = new IndexWriterConfig(new ArabicAnalyzer());
    config.setSimilarity(new BM25Similarity());
    config.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    config.setRAMBufferSizeMB(ramMb);
    config.setMergeScheduler(new SerialMergeScheduler());
    JsonFactory json = new JsonFactory();
    try (Directory dir = FSDirectory.open(indexDir);
        IndexWriter writer = new IndexWriter(dir, config)) {
      for (Path file : files) {
        docs += indexFile(writer, json, file);
      }
      writer.commit();
    }
    double elapsed = (System.nanoTime() - started) / 1e9;
    int segments;
    try (Directory dir = FSDirectory.open(indexDir);
        DirectoryReader reader = DirectoryReader.open(dir)) {
      segments = reader.leaves().size();
    }
    System.out.printf(
        "{\"indexed\": %d, \"files\": %d, \"elapsed_s\": %.3f, \"rate\": %.1f, "
            + "\"size_bytes\": %d, \"segments\": %d, \"ram_buffer_mb\": %.0f}%n",
        docs, files.size(), elapsed, docs / elapsed, dirSize(indexDir), segments, ramMb);
  }

  static List<Path> jsonlFiles(Path inputDir) throws IOException {
    try (Stream<Path> s = Files.list(inputDir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
    }
  }

  static long dirSize(Path dir) throws IOException {
    long total = 0;
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        total += Files.size(p);
      }
    }
    return total;
  }

  static long indexFile(IndexWriter writer, JsonFactory json, Path file) throws IOException {
    long n = 0;
    try (JsonParser parser = json.createParser(Files.newInputStream(file))) {
      while (parser.nextToken() == JsonToken.START_OBJECT) {
        writer.addDocument(document(parser));
        n++;
      }
    }
    return n;
  }

  /** One JSONL record (id, headline, body, date, source) as a Lucene document. */
  static Document document(JsonParser parser) throws IOException {
    Document doc = new Document();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      parser.nextToken();
      String value = parser.getValueAsString("");
      switch (name) {
        case "id" -> {
          doc.add(new StringField("id", value, Field.Store.YES));
          doc.add(new SortedDocValuesField("id", new BytesRef(value)));
        }
        case "headline", "body" -> doc.add(new TextField(name, value, Field.Store.YES));
        case "source" -> doc.add(new StringField("source", value, Field.Store.YES));
        case "date" -> addDate(doc, value);
        default -> parser.skipChildren();
      }
    }
    return doc;
  }

  static void addDate(Document doc, String value) {
    if (value.length() < 10) {
      return;
    }
    long seconds = value.length() >= 19
        ? LocalDateTime.parse(value.substring(0, 19).replace(' ', 'T')).toEpochSecond(ZoneOffset.UTC)
        : LocalDate.parse(value.substring(0, 10)).toEpochDay() * 86400L;
    doc.add(new LongPoint("date", seconds));
    doc.add(new NumericDocValuesField("date", seconds));
    doc.add(new StoredField("date", seconds));
  }

  // -- searching -----------------------------------------------------------------------------

  /** One line of the query file: kind, text, date from, date to, source, sort (tab-separated). */
  record Spec(String kind, String text, String from, String to, String source, String sort) {
    static Spec parse(String line) {
      String[] f = line.split("\t", -1);
      return new Spec(f[0], f[1], f[2], f[3], f[4], f[5]);
    }
  }

  static void serve(Path indexDir, Path queryFile) throws Exception {
    List<Spec> specs = new ArrayList<>();
    for (String line : Files.readAllLines(queryFile, StandardCharsets.UTF_8)) {
      if (!line.isEmpty()) {
        specs.add(Spec.parse(line));
      }
    }
    long t0 = System.nanoTime();
    Analyzer analyzer = new ArabicAnalyzer();
    try (Directory dir = FSDirectory.open(indexDir);
        DirectoryReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      searcher.setSimilarity(new BM25Similarity());
      MultiFieldQueryParser parser = new MultiFieldQueryParser(TEXT_FIELDS, analyzer);
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      out.printf("{\"ready\": true, \"docs\": %d, \"open_ms\": %.1f, \"directory\": \"%s\"}%n",
          reader.numDocs(), (System.nanoTime() - t0) / 1e6, dir.getClass().getSimpleName());
      loop(new Runner(searcher, parser, specs), out);
    }
  }

  static void loop(Runner runner, PrintStream out) throws IOException, ParseException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] cmd = line.trim().split("\\s+");
      if (cmd[0].equals("run")) {
        out.println(runner.run(Integer.parseInt(cmd[1]), Integer.parseInt(cmd[2])));
      } else if (cmd[0].equals("quit")) {
        return;
      }
    }
  }

  /** Runs queries by number: parse, filter, top 100 (by score or newest first), their ids. */
  static final class Runner {
    private final IndexSearcher searcher;
    private final MultiFieldQueryParser parser;
    private final List<Spec> specs;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Sort newest = new Sort(new SortField("date", SortField.Type.LONG, true));

    Runner(IndexSearcher searcher, MultiFieldQueryParser parser, List<Spec> specs) {
      this.searcher = searcher;
      this.parser = parser;
      this.specs = specs;
    }

    /** Queries [from, to): {"ms": [...], "cpu_ms": [...], "hits": [...]} timed one by one. */
    String run(int from, int to) throws IOException, ParseException {
      StringBuilder ms = new StringBuilder();
      StringBuilder cpu = new StringBuilder();
      StringBuilder hits = new StringBuilder();
      for (int i = from; i < to; i++) {
        long w0 = System.nanoTime();
        long c0 = threads.getCurrentThreadCpuTime();
        long total = answer(specs.get(i));
        long c1 = threads.getCurrentThreadCpuTime();
        long w1 = System.nanoTime();
        String sep = i == from ? "" : ",";
        ms.append(sep).append(String.format("%.4f", (w1 - w0) / 1e6));
        cpu.append(sep).append(String.format("%.4f", (c1 - c0) / 1e6));
        hits.append(sep).append(total);
      }
      return "{\"ms\": [" + ms + "], \"cpu_ms\": [" + cpu + "], \"hits\": [" + hits + "]}";
    }

    long answer(Spec spec) throws IOException, ParseException {
      Query query = query(spec);
      TopDocs top = spec.sort().equals("newest")
          ? searcher.search(query, TOP, newest)
          : searcher.search(query, TOP);
      ids(top.scoreDocs);
      return top.totalHits.value;
    }

    /**
     * The hits' ids from the id column (doc values), as arshif's ranked_ids reads them from
     * its id array. Through the stored fields, each id would decompress a block of whole
     * stored articles: 100 of them took ~5 ms at 58k articles, most of a query's time.
     */
    void ids(ScoreDoc[] hits) throws IOException {
      List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
      for (ScoreDoc sd : hits) {
        LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(sd.doc, leaves));
        SortedDocValues ids = leaf.reader().getSortedDocValues("id");
        if (ids != null && ids.advanceExact(sd.doc - leaf.docBase)) {
          ids.lookupOrd(ids.ordValue());
        }
      }
    }

    Query query(Spec spec) throws ParseException {
      Query text = parser.parse(spec.text());
      if (spec.from().isEmpty() && spec.to().isEmpty() && spec.source().isEmpty()) {
        return text;
      }
      BooleanQuery.Builder b = new BooleanQuery.Builder().add(text, BooleanClause.Occur.MUST);
      if (!spec.from().isEmpty() || !spec.to().isEmpty()) {
        long lo = spec.from().isEmpty() ? Long.MIN_VALUE
            : LocalDate.parse(spec.from()).toEpochDay() * 86400L;
        long hi = spec.to().isEmpty() ? Long.MAX_VALUE
            : LocalDate.parse(spec.to()).toEpochDay() * 86400L + 86399L;
        b.add(LongPoint.newRangeQuery("date", lo, hi), BooleanClause.Occur.FILTER);
      }
      if (!spec.source().isEmpty()) {
        b.add(new TermQuery(new Term("source", spec.source())), BooleanClause.Occur.FILTER);
      }
      return b.build();
    }
  }
}
