//! A private S3-compatible server for a test: moto's server (S3 and DynamoDB), installed by
//! scripts/s3-server/install, listening on a free loopback port, with one bucket for state
//! and one DynamoDB table for terraform's state locks. Killed on drop.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "strata-tfstate";
pub const LOCK_TABLE: &str = "strata-locks";
pub const ACCESS_KEY: &str = "AKIASTRATATEST0001";
/// The secret key: tests grep everything strata wrote for it.
pub const SECRET_KEY: &str = "s3-Secr3t-k3y-7d4e-strata";
pub const REGION: &str = "us-east-1";

pub struct S3 {
    child: Child,
    port: u16,
}

fn python() -> PathBuf {
    let python = common_root().join(".tools/s3-server/venv/bin/python");
    assert!(
        python.is_file(),
        "the S3 test server is not installed, and the s3 state backend tests need it: run \
         scripts/s3-server/install (scripts/test does) and run the tests again"
    );
    python
}

fn common_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

impl S3 {
    /// A server with the bucket and the lock table.
    pub fn start() -> S3 {
        let python = python();
        let port = crate::common::free_port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s3 = S3 { child, port };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the S3 test server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s3.boto(&format!(
            "s3.create_bucket(Bucket={BUCKET:?})\n\
             ddb.create_table(TableName={LOCK_TABLE:?}, \
             KeySchema=[{{'AttributeName': 'LockID', 'KeyType': 'HASH'}}], \
             AttributeDefinitions=[{{'AttributeName': 'LockID', 'AttributeType': 'S'}}], \
             BillingMode='PAY_PER_REQUEST')\n"
        ));
        s3
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs Python with boto3 clients `s3` and `ddb` on this server; returns its stdout.
    pub fn boto(&self, code: &str) -> String {
        let prelude = format!(
            "import boto3, json\n\
             kw = dict(endpoint_url={url:?}, aws_access_key_id={ACCESS_KEY:?}, \
             aws_secret_access_key={SECRET_KEY:?}, region_name={REGION:?})\n\
             s3 = boto3.client('s3', **kw)\nddb = boto3.client('dynamodb', **kw)\n",
            url = self.url()
        );
        let out = Command::new(python())
            .args(["-c", &format!("{prelude}{code}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The object keys in the state bucket.
    pub fn keys(&self) -> Vec<String> {
        let out = self.boto(&format!(
            "print(json.dumps([o['Key'] for o in s3.list_objects_v2(Bucket={BUCKET:?}).get('Contents', [])]))"
        ));
        serde_json::from_str(out.trim()).unwrap()
    }

    /// The state object at `key`, parsed.
    pub fn state(&self, key: &str) -> serde_json::Value {
        let out = self.boto(&format!(
            "print(s3.get_object(Bucket={BUCKET:?}, Key={key:?})['Body'].read().decode())"
        ));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("state does not parse ({e}): {out}"))
    }

    /// The lock entries in the DynamoDB table: (LockID, Info).
    pub fn locks(&self) -> Vec<(String, String)> {
        let out = self.boto(&format!(
            "print(json.dumps([(i['LockID']['S'], i.get('Info', {{}}).get('S', '')) \
             for i in ddb.scan(TableName={LOCK_TABLE:?})['Items']]))"
        ));
        serde_json::from_str(out.trim()).unwrap()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
