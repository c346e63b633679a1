# A minimal puppetserver for generate.sh: HTTPS on loopback, compiling each
# catalog request with the real compiler (`puppet catalog find --terminus
# compiler`) against CODEDIR and answering compile errors the way
# puppetserver does: HTTP 500, {"message":"Server Error: ...","issue_kind":...}.
#
# usage: ruby fakeserver.rb PORT SSLDIR CODEDIR WORKDIR
# WORKDIR/report_status holds the HTTP status answered to report uploads.
require 'webrick'
require 'webrick/https'
require 'openssl'
require 'json'
require 'open3'

port, ssldir, codedir, work = ARGV
srv = WEBrick::HTTPServer.new(
  Port: Integer(port), BindAddress: '127.0.0.1',
  SSLEnable: true,
  SSLCertificate: OpenSSL::X509::Certificate.new(File.read("#{ssldir}/server.pem")),
  SSLPrivateKey: OpenSSL::PKey.read(File.read("#{ssldir}/server.key")),
  SSLVerifyClient: OpenSSL::SSL::VERIFY_NONE,
  Logger: WEBrick::Log.new("#{work}/server.log"), AccessLog: []
)

def json(res, status, body)
  res.status = status
  res['Content-Type'] = 'application/json'
  res.body = JSON.generate(body)
end

srv.mount_proc('/puppet/v3/node') do |req, res|
  name = req.path.split('/').last
  json(res, 200, { 'name' => name, 'environment' => 'production', 'parameters' => {}, 'classes' => {} })
end

srv.mount_proc('/puppet/v3/catalog') do |req, res|
  name = req.path.split('/').last
  out, err, st = Open3.capture3('puppet', 'catalog', 'find', name, '--terminus', 'compiler',
                                '--render-as', 'json', '--color=false', '--codedir', codedir,
                                '--confdir', "#{work}/compile-conf", '--vardir', "#{work}/compile-var")
  catalog = out.lines.find { |l| l.start_with?('{') } # "Notice: Compiled catalog ..." precedes it
  if st.success? && catalog
    res.status = 200
    res['Content-Type'] = 'application/json'
    res.body = catalog
  else
    msg = err.lines.map(&:strip).find { |l| l.start_with?('Error: ') && !l.include?('Facter') && !l.include?("Could not call 'find'") }
    msg = (msg || 'Error: compilation failed').sub(/\AError: /, '')
    json(res, 500, { 'message' => "Server Error: #{msg}", 'issue_kind' => 'RUNTIME_ERROR' })
  end
end

srv.mount_proc('/puppet/v3/report') do |req, res|
  status = Integer((File.read("#{work}/report_status") rescue '200').strip)
  if status == 200
    json(res, 200, [])
  else
    json(res, status, { 'message' => "Server Error: Could not write report for #{req.path.split('/').last}: No space left on device @ rb_sysopen - /var/lib/puppetserver/reports/#{req.path.split('/').last}/202411220520.json", 'issue_kind' => 'RUNTIME_ERROR' })
  end
end

trap('TERM') { srv.shutdown }
srv.start
